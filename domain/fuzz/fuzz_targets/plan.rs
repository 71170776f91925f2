#![no_main]
//! `plan` must never panic, whatever the bytes: against no users, and
//! against the users its own first plan would create (updates path).

use domain::plan::{Action, NoUsers, plan};
use domain::{Options, User, UserKey};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let options = Options::default();
    if let Ok(p) = plan(data, &NoUsers, &options, domain::Actor::Owner) {
        let store: HashMap<UserKey, User> = p
            .rows
            .iter()
            .filter_map(|r| match &r.action {
                Action::Create(u) => Some((u.key().clone(), (**u).clone())),
                _ => None,
            })
            .collect();
        let again = plan(data, &store, &options, domain::Actor::Owner).expect("a file that planned once plans again");
        assert_eq!(again.counts.create, 0);
        assert_eq!(again.counts.total(), p.counts.total());
    }
});
