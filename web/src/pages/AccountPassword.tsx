import { useMutation } from "@tanstack/react-query";
import { post } from "../api/client";
import { CreateForm } from "../components/SimpleForm";
import { Field } from "../components/ui";

const PASSWORD_HINT = "At least 10 characters; not a common password.";

/**
 * Changes the password with the current one. The API ends every other session and gives this browser a
 * new session cookie, so the user stays logged in here.
 */
export function PasswordSection() {
  const change = useMutation({
    mutationFn: async (form: FormData) => {
      const newPassword = String(form.get("newPassword"));
      if (newPassword !== form.get("confirmPassword")) throw new Error("The new password and its confirmation are not the same.");
      return post<{ message: string }>("/api/account/password", { currentPassword: String(form.get("currentPassword")), newPassword });
    },
  });
  return (
    <CreateForm title="Password" submit="Change password" mutation={change} success={(data) => data.message}>
      <p className="muted">Changing it logs you out everywhere else; this browser stays logged in.</p>
      <Field label="Current password" name="currentPassword" type="password" autoComplete="current-password" required />
      <Field label="New password" name="newPassword" type="password" autoComplete="new-password" minLength={10} required hint={PASSWORD_HINT} />
      <Field label="Confirm new password" name="confirmPassword" type="password" autoComplete="new-password" required />
    </CreateForm>
  );
}
