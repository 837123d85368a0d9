/**
 * Passwords (lower-cased) that attackers try first: the top of public breach-frequency lists, kept to
 * what the policy can still reject (anything shorter than 10 characters already fails the length rule,
 * so short words appear here only as stems that people pad with digits and symbols, e.g. "password123!").
 */
export const COMMON_PASSWORD_STEMS: readonly string[] = [
  "password", "passw0rd", "p@ssword", "p@ssw0rd", "pass", "qwerty", "qwertz", "azerty", "abc", "abcd",
  "letmein", "welcome", "iloveyou", "admin", "administrator", "root", "user", "login", "master", "secret",
  "changeme", "default", "monkey", "dragon", "football", "baseball", "basketball", "soccer", "hockey",
  "sunshine", "princess", "shadow", "superman", "batman", "spiderman", "pokemon", "starwars", "michael",
  "jordan", "charlie", "daniel", "jessica", "ashley", "nicole", "hunter", "killer", "trustno", "freedom",
  "whatever", "computer", "internet", "summer", "winter", "spring", "autumn", "flower", "cheese", "cookie",
  "chocolate", "pepper", "ginger", "buster", "thomas", "robert", "matrix", "mustang", "harley", "ranger",
  "tigger", "jennifer", "hello", "hellothere", "helloworld", "test", "tester", "testing", "guest", "access",
  "love", "lovely", "loveme", "angel", "baby", "money", "mylove", "forever", "family", "friends", "google",
  "facebook", "linkedin", "microsoft", "apple", "samsung", "liverpool", "chelsea", "arsenal", "london",
  "england", "september", "october", "november", "december", "january", "february", "monday", "sunday",
  "asdf", "asdfgh", "asdfghjkl", "zxcvbnm", "zxcvbn", "qazwsx", "qazwsxedc", "1qaz2wsx", "1qaz2wsx3edc",
  "zaq12wsx", "zaq1zaq1", "1q2w3e4r", "1q2w3e4r5t", "1q2w3e4r5t6y", "q1w2e3r4", "q1w2e3r4t5", "qwer",
  "qwertyuiop", "qwertyui", "qweasdzxc", "asdfasdf", "abcdefg", "abcdefgh", "abcdefghij", "abcdefghijk",
  "abcd1234", "abc12345", "a1b2c3d4", "a1b2c3d4e5", "aa123456", "datasync", "backup", "database", "server",
  "passwordpassword", "iloveyouiloveyou", "princesa", "contrasena", "motdepasse", "passwort", "senha",
];

/** Whole passwords of 10+ characters from the same lists that no stem rule catches. */
export const COMMON_PASSWORDS: readonly string[] = [
  "1234567890", "0123456789", "0987654321", "9876543210", "1234567891", "12345678910", "123456789a",
  "1111111111", "0000000000", "2222222222", "5555555555", "6666666666", "7777777777", "8888888888",
  "9999999999", "1212121212", "1231231234", "1122334455", "1234512345", "1234554321", "1029384756",
  "123456789q", "123456789z", "123qweasdzxc", "1qazxsw2", "1qaz!qaz", "!qaz2wsx", "qwerty123456",
  "qwertyuiop123", "password1234", "iloveyou123", "thequickbrownfox", "letmeinnow", "welcome2datasync",
];
