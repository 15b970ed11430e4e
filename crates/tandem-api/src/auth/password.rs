//! Password hashing with argon2id, off the async runtime and bounded in concurrency.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Hashes and verifies passwords.
#[derive(Debug)]
pub struct Passwords {
    argon: Argon2<'static>,
    /// A real hash of nothing anyone knows, verified when an email has no account, so
    /// a wrong email costs the same time as a wrong password.
    dummy_hash: String,
    /// Each hash takes 19 MiB and a core for tens of milliseconds; a flood of logins
    /// must queue here rather than exhaust memory in the blocking pool.
    permits: Arc<Semaphore>,
}

impl Passwords {
    /// OWASP's first recommended argon2id configuration: m = 19 MiB, t = 2, p = 1.
    pub fn new() -> anyhow::Result<Self> {
        let params = Params::new(19 * 1024, 2, 1, None).map_err(anyhow::Error::msg)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = hash_with(&argon, "tandem: no account has this password")?;
        let parallelism = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            argon,
            dummy_hash,
            permits: Arc::new(Semaphore::new(parallelism * 2)),
        })
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let (argon, password) = (self.argon.clone(), password.to_owned());
        tokio::task::spawn_blocking(move || hash_with(&argon, &password)).await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no
    /// account, so both failures take the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let known = stored.is_some();
        let hash = stored.unwrap_or(&self.dummy_hash).to_owned();
        let (argon, password) = (self.argon.clone(), password.to_owned());
        let matches = tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash).map_err(anyhow::Error::msg)?;
            anyhow::Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await??;
        Ok(known && matches)
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(anyhow::Error::msg)?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let passwords = Passwords::new().unwrap();
        let hash = passwords.hash("correct horse 1").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            passwords
                .verify("correct horse 1", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("correct horse 2", Some(&hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn no_account_never_verifies() {
        let passwords = Passwords::new().unwrap();
        let dummy = passwords.dummy_hash.clone();
        assert!(
            !passwords
                .verify("tandem: no account has this password", None)
                .await
                .unwrap()
        );
        assert!(!dummy.is_empty());
    }
}
