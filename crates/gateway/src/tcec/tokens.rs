//! Where issued `AccessToken`s live: a trait the platform implements on its catalog (so tokens
//! survive a restart), and a bounded in-memory store.

use std::collections::HashMap;
use std::sync::Mutex;

use model::Timestamp;

/// The tokens handed out by `query_token`.
pub trait TokenStore: Send + Sync {
    /// Remembers that `token` authenticates `operator_id` until `expires_at`.
    fn store(&self, operator_id: &str, token: &str, expires_at: Timestamp) -> Result<(), String>;

    /// The operator `token` authenticates at `now`, or `None` if it is unknown or expired.
    fn operator_of(&self, token: &str, now: Timestamp) -> Result<Option<String>, String>;
}

/// Tokens in memory, at most `capacity` of them: expired tokens are dropped first, then the
/// ones that expire soonest.
#[derive(Debug)]
pub struct MemoryTokenStore {
    capacity: usize,
    tokens: Mutex<HashMap<String, (String, Timestamp)>>,
}

impl Default for MemoryTokenStore {
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl MemoryTokenStore {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// How many tokens are held.
    pub fn len(&self) -> usize {
        self.tokens.lock().map(|t| t.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TokenStore for MemoryTokenStore {
    fn store(&self, operator_id: &str, token: &str, expires_at: Timestamp) -> Result<(), String> {
        let mut tokens = self.tokens.lock().map_err(|_| "token store poisoned")?;
        if tokens.len() >= self.capacity {
            // Full: drop the token that expires first (an expired one, if any is left).
            if let Some(first) = tokens
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
            {
                tokens.remove(&first);
            }
        }
        tokens.insert(token.to_owned(), (operator_id.to_owned(), expires_at));
        Ok(())
    }

    fn operator_of(&self, token: &str, now: Timestamp) -> Result<Option<String>, String> {
        let mut tokens = self.tokens.lock().map_err(|_| "token store poisoned")?;
        match tokens.get(token) {
            Some((op, at)) if *at > now => Ok(Some(op.clone())),
            Some(_) => {
                tokens.remove(token);
                Ok(None)
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_the_store_stays_bounded() {
        let s = MemoryTokenStore::new(2);
        let t = Timestamp::from_secs(1000);
        s.store("A", "t1", Timestamp::from_secs(1100)).unwrap();
        assert_eq!(s.operator_of("t1", t).unwrap().as_deref(), Some("A"));
        assert_eq!(
            s.operator_of("t1", Timestamp::from_secs(1100)).unwrap(),
            None
        );
        assert_eq!(s.operator_of("nope", t).unwrap(), None);
        s.store("A", "t2", Timestamp::from_secs(1200)).unwrap();
        s.store("B", "t3", Timestamp::from_secs(1300)).unwrap();
        s.store("C", "t4", Timestamp::from_secs(1400)).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.operator_of("t2", t).unwrap(),
            None,
            "the soonest to expire went"
        );
        assert_eq!(s.operator_of("t4", t).unwrap().as_deref(), Some("C"));
    }
}
