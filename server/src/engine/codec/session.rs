//! A session at rest, as both engines store it: its data and expiry as
//! JSON, under the SHA-256 of its id. Neither the id nor anything a cookie
//! could be rebuilt from is stored, so a copy of the database hands out no
//! live session. The server's session store writes it; redb, which keeps
//! nothing beside it, reads a session's user and expiry back from it to
//! end a user's sessions and to purge expired ones.

use domain::store::SESSION_USER;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A session as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtRest {
    pub data: HashMap<String, serde_json::Value>,
    /// Unix seconds.
    pub expires: i64,
}

impl AtRest {
    pub fn decode(bytes: &[u8]) -> Result<AtRest, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    pub fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// The user key the app stored in the session, if any.
    pub fn user_key(&self) -> Option<&str> {
        self.data.get(SESSION_USER)?.get("key")?.as_str()
    }
}
