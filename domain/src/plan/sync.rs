//! A sync import's part of a plan: the stored users a file no longer
//! lists, and the safety valve.

use super::ImportPlan;
use crate::options::Options;
use crate::privilege::{self, Act, Actor};
use crate::user::{EndState, Source, User};
use serde::{Deserialize, Serialize};

/// What a sync import is asked to do beyond the file's rows: deactivate
/// the stored users the file no longer lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettings {
    /// Only users of this organization are candidates (compared trimmed,
    /// in any letter case); `None`: every organization.
    pub scope_organization: Option<String>,
}

impl SyncSettings {
    /// The scope as stores filter by it: trimmed, `None` when blank.
    pub fn scope(&self) -> Option<&str> {
        self.scope_organization
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Whether a stored user is a candidate of this sync, whether or not
    /// the file lists it: imported (Source = CSV, never Manual or
    /// Bootstrap), active, in the scope, and one the actor may change
    /// (an operator's sync never touches an administrator).
    pub fn is_candidate(&self, user: &User, actor: Actor) -> bool {
        user.source == Source::Csv
            && user.end_state == EndState::Active
            && self.scope().is_none_or(|scope| {
                user.profile
                    .organization()
                    .trim()
                    .to_lowercase()
                    .eq(&scope.to_lowercase())
            })
            && privilege::check(actor, Act::Change, Some(user.roles), Some(user.roles)).is_ok()
    }
}

/// One user a sync deactivates: as stored, and as it will be written
/// (inactive, next version; a sync is not a person's decision, so
/// `held.deactivated_by` stays unset and a later file re-activates the
/// user).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deactivation {
    pub before: Box<User>,
    pub after: Box<User>,
}

/// The sync part of a plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPlan {
    pub settings: SyncSettings,
    /// The candidates, in the file or not: the base of the safety valve's
    /// percentage.
    pub candidates: u64,
    /// The candidates the file does not list, by key.
    pub deactivations: Vec<Deactivation>,
}

impl SyncPlan {
    /// The share of the candidates deactivated, in whole percent
    /// (rounded to nearest).
    pub fn percent(&self) -> u64 {
        let n = self.deactivations.len() as u64;
        if self.candidates == 0 {
            0
        } else {
            (n.saturating_mul(200) + self.candidates) / (2 * self.candidates)
        }
    }

    /// Why the safety valve refuses this sync (more than
    /// `import.sync_max_deactivate_percent` of the candidates), or `None`.
    pub fn refusal(&self, options: &Options) -> Option<String> {
        let n = self.deactivations.len() as u64;
        let max = u64::from(options.sync_max_deactivate_percent);
        if n == 0 || n.saturating_mul(100) <= max.saturating_mul(self.candidates) {
            return None;
        }
        Some(format!(
            "This sync would deactivate {n} of {} users ({}%); at most {max}% may be \
             deactivated at once ({}). Check that the file is complete; an administrator may \
             confirm it anyway. Nothing was written.",
            self.candidates,
            self.percent(),
            crate::options::SYNC_MAX_DEACTIVATE_PERCENT,
        ))
    }
}

/// Adds a sync to a plan: every candidate among `stored` (see
/// [`SyncSettings::is_candidate`]) whose key the file does not hold —
/// valid row or not: a row with a mistake in it never deactivates its
/// user — is deactivated. `stored` may hold more users than the
/// candidates (the store filters by source and end state; the rule is
/// applied here). The fingerprint then covers the deactivations and the
/// stored versions they were planned against.
pub fn add_sync(
    plan: &mut ImportPlan,
    in_file: &dyn Fn(&str) -> bool,
    stored: Vec<User>,
    settings: &SyncSettings,
    actor: Actor,
) {
    let sync = plan_sync(in_file, stored, settings, actor);
    plan.counts.deactivate = sync.deactivations.len() as u64;
    plan.fingerprint = crate::fingerprint::with_sync(&plan.fingerprint, &sync);
    plan.sync = Some(sync);
}

/// The sync part of a plan on its own (see [`add_sync`]): what the
/// preview of a sync asks the server for, the rows being planned in the
/// browser.
pub fn plan_sync(
    in_file: &dyn Fn(&str) -> bool,
    stored: Vec<User>,
    settings: &SyncSettings,
    actor: Actor,
) -> SyncPlan {
    let mut candidates = 0u64;
    let mut deactivations = Vec::new();
    for user in stored {
        if !settings.is_candidate(&user, actor) {
            continue;
        }
        candidates += 1;
        if in_file(user.key().as_str()) {
            continue;
        }
        let mut after = Box::new(user.clone());
        after.end_state = EndState::Inactive;
        after.version = user.version + 1;
        deactivations.push(Deactivation {
            before: Box::new(user),
            after,
        });
    }
    deactivations.sort_by(|a, b| a.before.key().cmp(b.before.key()));
    SyncPlan {
        settings: settings.clone(),
        candidates,
        deactivations,
    }
}
