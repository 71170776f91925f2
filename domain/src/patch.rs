//! A validated change to a user's profile: the one way text from outside —
//! a CSV row, the manual input form, the profile form — reaches a
//! [`Profile`]. Each cell is validated once, under its field's rule, when
//! it is put into the patch; applying the patch writes only values that
//! passed.

use crate::error::ErrorCode;
use crate::field::{Field, FieldError};
use crate::user::{PROFILE_FIELDS, Profile};

/// What a blank cell means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blank {
    /// Keep the stored value (a CSV row; a new user: absent).
    Keep,
    /// Clear the stored value (a form that shows every field).
    Clear,
}

/// Validated values for some profile fields (never the email).
///
/// Compact on purpose: a file of a million rows holds a million patches
/// until they are planned. The values sit one after another in one
/// string (one allocation a row, not one a cell), each field's value
/// found by its span.
#[derive(Clone, Debug)]
pub struct ProfilePatch {
    text: String,
    /// Indexed by [`Field::index`]: the value's start and end in `text`;
    /// `NOT_SET` as start: not changed; an empty span: cleared.
    spans: [(u32, u32); Field::ALL.len()],
}

/// The start of a span whose field has no value.
const NOT_SET: u32 = u32::MAX;

impl ProfilePatch {
    fn record(&mut self, field: Field, value: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(value);
        self.spans[field.index()] = (start, self.text.len() as u32);
    }

    /// Validates `raw` for `field` and records it. A blank required field
    /// is refused ("… is required"); a blank optional one is recorded as a
    /// clearing or not at all, as `blank` says. The email is not a profile
    /// field and is refused.
    pub fn set(&mut self, field: Field, raw: &str, blank: Blank) -> Result<(), FieldError> {
        if field == Field::Email {
            return Err(FieldError::wrong_type(field, "ProfilePatch"));
        }
        let raw = crate::chars::trim(raw);
        if raw.is_empty() {
            if field.required() {
                return Err(FieldError {
                    code: ErrorCode::Required,
                    message: format!("{} is required", field.label()),
                });
            }
            if blank == Blank::Clear {
                self.record(field, "");
            }
            return Ok(());
        }
        let value = field.validate(raw)?;
        self.record(field, &value);
        Ok(())
    }

    /// The recorded value of `field`, if any.
    pub fn get(&self, field: Field) -> Option<&str> {
        match self.spans[field.index()] {
            (NOT_SET, _) => None,
            (start, end) => self.text.get(start as usize..end as usize),
        }
    }

    /// Whether applying the patch would change `profile`.
    pub fn changes(&self, profile: &Profile) -> bool {
        Field::ALL
            .into_iter()
            .skip(1)
            .any(|f| self.get(f).is_some_and(|v| Some(v) != profile.get(f)))
    }

    /// `profile` with the recorded values written into it (one
    /// allocation).
    pub fn applied_to(&self, profile: &Profile) -> Profile {
        let before = profile.values();
        Profile::from_values(std::array::from_fn(|i| {
            self.get(Field::PROFILE[i]).unwrap_or(before[i])
        }))
    }

    /// A new profile of the recorded values (one allocation).
    pub fn to_profile(&self) -> Profile {
        Profile::from_values(Field::PROFILE.map(|field| self.get(field).unwrap_or("")))
    }

    /// [`Self::to_profile`], taking over the patch's string when its values
    /// lie in field order, one after another, as a CSV row's always do
    /// (`rows` sets them in field order, whatever the file's column
    /// order): a created user then costs no allocation of its own. A patch
    /// set in another order, or a field set twice, is copied.
    pub fn into_profile(self) -> Profile {
        let mut ends = [0u32; PROFILE_FIELDS];
        let mut end = 0;
        for (i, field) in Field::PROFILE.into_iter().enumerate() {
            match self.spans[field.index()] {
                (NOT_SET, _) => {}
                (start, stop) if start == end => end = stop,
                _ => return self.to_profile(),
            }
            ends[i] = end;
        }
        if end as usize != self.text.len() {
            return self.to_profile();
        }
        Profile::from_parts(self.text, ends)
    }
}

/// Equal when every field has the same value (or none), whatever order
/// the values were recorded in.
impl PartialEq for ProfilePatch {
    fn eq(&self, other: &Self) -> bool {
        Field::ALL.into_iter().all(|f| self.get(f) == other.get(f))
    }
}

impl Eq for ProfilePatch {}

impl ProfilePatch {
    /// An empty patch whose text holds `bytes` without growing (a row's
    /// cells: one allocation a row instead of several).
    pub fn with_capacity(bytes: usize) -> ProfilePatch {
        ProfilePatch {
            text: String::with_capacity(bytes),
            ..ProfilePatch::default()
        }
    }
}

impl Default for ProfilePatch {
    fn default() -> Self {
        ProfilePatch {
            text: String::new(),
            spans: [(NOT_SET, NOT_SET); Field::ALL.len()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_holds_only_validated_values_and_applies_them() {
        let mut p = ProfilePatch::default();
        p.set(Field::FirstName, "  Zoe\u{0308} ", Blank::Keep)
            .unwrap();
        assert_eq!(p.get(Field::FirstName), Some("Zoë"), "trimmed and NFC");
        assert_eq!(
            p.set(Field::Phone, "call me", Blank::Keep)
                .unwrap_err()
                .code,
            ErrorCode::InvalidPhone
        );
        assert_eq!(p.get(Field::Phone), None, "a refused value is not kept");
        assert_eq!(
            p.set(Field::LastName, " ", Blank::Clear).unwrap_err().code,
            ErrorCode::Required
        );
        assert!(p.set(Field::Email, "a@x.org", Blank::Keep).is_err());
        // Blank: kept or cleared.
        p.set(Field::Title, "", Blank::Keep).unwrap();
        assert_eq!(p.get(Field::Title), None);
        p.set(Field::Mobile, "", Blank::Clear).unwrap();
        assert_eq!(p.get(Field::Mobile), Some(""));

        let mut profile = Profile::default();
        profile.set(Field::Mobile, "+1").unwrap();
        profile.set(Field::Title, "Dr").unwrap();
        assert!(p.changes(&profile));
        let profile = p.applied_to(&profile);
        assert_eq!(profile.first_name(), "Zoë");
        assert_eq!(profile.mobile(), "", "cleared");
        assert_eq!(profile.title(), "Dr", "kept");

        let mut same = ProfilePatch::default();
        same.set(Field::Title, "Dr", Blank::Keep).unwrap();
        assert!(!same.changes(&profile));

        // Equal by values, whatever the order they were set in.
        let mut a = ProfilePatch::default();
        a.set(Field::Title, "Dr", Blank::Keep).unwrap();
        a.set(Field::Phone, "+1", Blank::Keep).unwrap();
        let mut b = ProfilePatch::default();
        b.set(Field::Phone, "+1", Blank::Keep).unwrap();
        b.set(Field::Title, "Dr", Blank::Keep).unwrap();
        assert_eq!(a, b);
        b.set(Field::Mobile, "", Blank::Clear).unwrap();
        assert_ne!(a, b, "a clearing is a value");
    }

    mod into_profile {
        use super::*;
        use proptest::prelude::*;

        fn any_cells() -> impl Strategy<Value = Vec<(Field, String)>> {
            proptest::collection::vec(
                (1..Field::ALL.len()).prop_flat_map(|i| {
                    let field = Field::ALL[i];
                    // An optional field may be cleared (an empty span).
                    let value = match field {
                        Field::Phone | Field::Mobile => "([0-9]{1,8})?",
                        f if f.required() => "[a-zé]{1,8}",
                        _ => "([a-zé]{1,8})?",
                    };
                    (Just(field), value)
                }),
                0..14,
            )
        }

        proptest! {
            /// Taking over the patch's string (values in field order) or
            /// copying them out (any other order, a field set twice) gives
            /// the same profile, cleared fields included.
            #[test]
            fn equals_to_profile(cells in any_cells(), in_order in any::<bool>()) {
                let mut cells = cells;
                if in_order {
                    cells.sort_by_key(|(f, _)| f.index());
                    cells.dedup_by_key(|(f, _)| f.index());
                }
                let mut patch = ProfilePatch::default();
                for (field, value) in &cells {
                    patch.set(*field, value, Blank::Clear).unwrap();
                }
                let copied = patch.to_profile();
                let taken = patch.clone().into_profile();
                prop_assert_eq!(&taken, &copied);
                for field in Field::PROFILE.into_iter() {
                    prop_assert_eq!(taken.get(field), Some(patch.get(field).unwrap_or("")));
                }
            }
        }
    }
}
