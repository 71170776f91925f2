//! Password policy (OWASP ASVS: length over composition rules, refuse the
//! most common passwords). Checked in the browser for instant feedback and
//! again on the server.

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// The most common passwords of public breach corpora (lower-cased) that are
/// at least `MIN_CHARS` long; shorter ones are refused by length anyway.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "12345678",
    "123456789",
    "1234567890",
    "12345678910",
    "11111111",
    "00000000",
    "88888888",
    "87654321",
    "11223344",
    "12341234",
    "123123123",
    "987654321",
    "qwertyui",
    "qwertyuiop",
    "qwerty123",
    "qwerty1234",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "zaq12wsx",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "superman",
    "starwars",
    "trustno1",
    "whatever",
    "letmein1",
    "letmein123",
    "dragon123",
    "master123",
    "abc12345",
    "abcd1234",
    "aa123456",
    "asdfghjkl",
    "asdf1234",
    "changeme",
    "changeme123",
    "administrator",
    "admin123",
    "admin1234",
    "adminadmin",
    "computer",
    "internet",
    "michelle",
    "jennifer",
    "corvette",
    "mercedes",
    "mustang1",
    "freedom1",
    "shadow123",
    "monkey123",
    "charlie1",
    "q1w2e3r4",
    "q1w2e3r4t5",
    "zxcvbnm1",
    "zxcvbnm123",
    "secret123",
    "test1234",
    "testtest",
    "passpass",
    "hello123",
    "hellohello",
    "summer2024",
    "summer2025",
    "winter2024",
    "winter2025",
    "spring2025",
    "autumn2025",
    "welcome2025",
    "company123",
    "password!",
    "password1!",
    "qwerty12345",
    "1234qwer",
    "passwort",
    "motdepasse",
    "contraseña",
];

/// Why a password is refused.
pub fn check(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(format!(
            "The password must have at least {MIN_CHARS} characters."
        ));
    }
    if n > MAX_CHARS {
        return Err(format!(
            "The password must have at most {MAX_CHARS} characters."
        ));
    }
    if COMMON.contains(&password.to_lowercase().as_str()) {
        return Err("This password is one of the most commonly used ones. Choose another.".into());
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err("The password must not repeat a single character.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(check("short").is_err());
        assert!(check(&"x".repeat(129)).is_err());
        assert!(check("aaaaaaaaaa").is_err());
        assert!(check("Password123").is_err());
        assert!(check("correct horse battery staple").is_ok());
        assert!(check(&"ab".repeat(64)).is_ok());
    }
}
