import type { UseMutationResult } from "@tanstack/react-query";
import { type ReactNode, useId } from "react";
import { ErrorMessage, Field } from "./ui";

/** One input of a form built from a table of fields (destination settings, credential secrets). */
export interface FieldSpec {
  name: string;
  label: string;
  type?: "text" | "password" | "number" | "textarea";
  optional?: boolean;
  hint?: string;
}

export function SpecFields({ specs, prefix }: { specs: FieldSpec[]; prefix: string }): ReactNode {
  return specs.map((spec) =>
    spec.type === "textarea" ? (
      <div className="field" key={spec.name}>
        <label htmlFor={`${prefix}-${spec.name}`}>{spec.label}</label>
        <textarea id={`${prefix}-${spec.name}`} name={`${prefix}.${spec.name}`} required={!spec.optional} rows={4} autoComplete="off" spellCheck={false} />
      </div>
    ) : (
      <Field
        key={spec.name}
        label={spec.optional ? `${spec.label} (optional)` : spec.label}
        name={`${prefix}.${spec.name}`}
        type={spec.type ?? "text"}
        required={!spec.optional}
        autoComplete={spec.type === "password" ? "new-password" : "off"}
        hint={spec.hint}
      />
    ),
  );
}

/** The values of `specs` from a submitted form (blank optional fields left out, numbers as numbers). */
export function readSpecs(form: FormData, specs: FieldSpec[], prefix: string): Record<string, string | number> {
  const values: Record<string, string | number> = {};
  for (const spec of specs) {
    const raw = String(form.get(`${prefix}.${spec.name}`) ?? "");
    if (raw === "" && spec.optional) continue;
    values[spec.name] = spec.type === "number" ? Number(raw) : raw;
  }
  return values;
}

/**
 * The "add one" form under a list: its fields, the API's error, a success line; submitting hands the
 * form's data to `mutation` and clears the form when it succeeds.
 */
export function CreateForm<T>({ title, submit, mutation, success, children }: { title: string; submit: string; mutation: UseMutationResult<T, Error, FormData>; success?: (data: T) => ReactNode; children: ReactNode }) {
  const id = useId();
  return (
    <form
      className="card"
      aria-labelledby={id}
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        mutation.mutate(new FormData(form), { onSuccess: () => form.reset() });
      }}
    >
      <h2 id={id}>{title}</h2>
      {children}
      <ErrorMessage error={mutation.error} />
      {mutation.isSuccess && success && (
        <p role="status" className="success">
          {success(mutation.data)}
        </p>
      )}
      <button type="submit" disabled={mutation.isPending}>
        {submit}
      </button>
    </form>
  );
}
