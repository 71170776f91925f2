//! Users › Create › Manual input: one user typed in by an operator, under
//! the same field rules as a CSV row.

use crate::email::Email;
use crate::error::{ErrorCode, RowError};
use crate::field::{Field, FieldError};
use crate::options::Options;
use crate::patch::{Blank, ProfilePatch};
use crate::user::{Roles, Source, User};

/// Validates the form's cells (`(field, text)`; absent fields are blank)
/// into a new user with Source = Manual and the roles and end state of the
/// import options. Every problem is reported, each with its column; the
/// line is 0 (there is no file).
pub fn manual_user(cells: &[(Field, &str)], options: &Options) -> Result<User, Vec<RowError>> {
    let cell = |f: Field| {
        cells
            .iter()
            .find(|(g, _)| *g == f)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    };
    let mut errors = Vec::new();
    let raw_email = cell(Field::Email);
    let email = if raw_email.is_empty() {
        let required = FieldError {
            code: ErrorCode::Required,
            message: format!("{} is required", Field::Email.label()),
        };
        errors.push(form_error(Field::Email, raw_email, required));
        None
    } else {
        match Field::Email.validate(raw_email) {
            Ok(_) => Email::parse(raw_email).ok(),
            Err(e) => {
                errors.push(form_error(Field::Email, raw_email, e));
                None
            }
        }
    };
    let mut patch = ProfilePatch::default();
    for field in Field::PROFILE.into_iter() {
        if let Err(e) = patch.set(field, cell(field), Blank::Keep) {
            errors.push(form_error(field, cell(field), e));
        }
    }
    let email = match email {
        Some(e) if errors.is_empty() => e,
        _ => return Err(errors),
    };
    let mut profile = patch.to_profile();
    profile.derive_display_name();
    Ok(User {
        email,
        profile,
        roles: options.roles,
        end_state: options.end_state,
        source: Source::Manual,
        created_at: 0,
        updated_at: 0,
        version: 1,
        held: Default::default(),
    })
}

/// A self-service user's edit of their own record: only the `editable`
/// fields (option `self_service.editable`) may change, under the same
/// field rules; a blank optional field is cleared, a required one refused.
/// Returns the record as it would be stored (same version: the store
/// increments it), or every problem with its column.
pub fn self_service_edit(
    user: &User,
    cells: &[(Field, &str)],
    editable: &[Field],
) -> Result<User, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut patch = ProfilePatch::default();
    for &(field, raw) in cells {
        if !editable.contains(&field) || field == Field::Email {
            if user.field(field) != raw.trim() {
                errors.push(form_error(
                    field,
                    raw,
                    FieldError {
                        code: ErrorCode::NotEditable,
                        message: format!("{} cannot be changed here", field.label()),
                    },
                ));
            }
            continue;
        }
        if let Err(e) = patch.set(field, raw, Blank::Clear) {
            errors.push(form_error(field, raw, e));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut after = user.clone();
    after.profile = patch.applied_to(&user.profile);
    Ok(after)
}

/// An operator's edit of a user on the user's page: every field but the
/// email (the match key) under the same rules as manual input; a blank
/// optional field is cleared, a blank required one refused. `roles`, when
/// given (administrators only), replaces the user's roles. Returns the
/// record as it would be stored (the store checks the privilege rule and
/// the version, and increments it).
pub fn operator_edit(
    user: &User,
    cells: &[(Field, &str)],
    roles: Option<Roles>,
) -> Result<User, Vec<RowError>> {
    let editable: Vec<Field> = Field::PROFILE.into_iter().collect();
    let mut after = self_service_edit(user, cells, &editable)?;
    if let Some(roles) = roles {
        after.roles = roles;
    }
    Ok(after)
}

/// A form's problem with one field (line 0: there is no file).
fn form_error(field: Field, raw: &str, e: FieldError) -> RowError {
    RowError {
        line: 0,
        column: field.column().into(),
        value: raw.trim().into(),
        code: e.code,
        message: e.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operator_edits_every_field_but_the_email_and_an_admin_the_roles() {
        let options = Options::default();
        let ada = manual_user(
            &[
                (Field::Email, "ada@x.org"),
                (Field::FirstName, "Ada"),
                (Field::LastName, "L"),
                (Field::Title, "Engineer"),
            ],
            &options,
        )
        .unwrap();
        let after = operator_edit(&ada, &[(Field::Title, "Manager")], None).unwrap();
        assert_eq!(after.field(Field::Title), "Manager");
        assert_eq!(after.roles, ada.roles);
        let changes = crate::plan::diff(&ada, &after);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].describe(), "Title: Engineer → Manager");
        let cleared = operator_edit(&ada, &[(Field::Title, " ")], None).unwrap();
        assert_eq!(cleared.field(Field::Title), "");
        let errors = operator_edit(
            &ada,
            &[
                (Field::Email, "eve@x.org"),
                (Field::FirstName, ""),
                (Field::Phone, "call me"),
            ],
            None,
        )
        .unwrap_err();
        let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(columns, ["email", "first_name", "phone"]);
        let admin = Roles::EMPTY.with(crate::Role::Admin);
        assert_eq!(operator_edit(&ada, &[], Some(admin)).unwrap().roles, admin);
    }

    #[test]
    fn a_valid_form_makes_a_manual_user_with_the_option_roles() {
        let options = Options::default();
        let u = manual_user(
            &[
                (Field::Email, " Ada@Example.org "),
                (Field::FirstName, "Ada"),
                (Field::LastName, "Lovelace"),
                (Field::Phone, "+44 20 1"),
            ],
            &options,
        )
        .unwrap();
        assert_eq!(u.key(), "ada@example.org");
        assert_eq!(u.email.as_str(), "Ada@Example.org");
        assert_eq!(u.profile.display_name(), "Ada Lovelace");
        assert_eq!(u.profile.phone(), "+44 20 1");
        assert_eq!(u.source, Source::Manual);
        assert_eq!(u.roles, options.roles);
        assert_eq!(u.end_state, options.end_state);
        assert_eq!(u.version, 1);
    }

    #[test]
    fn every_problem_is_reported_with_its_column() {
        let errors = manual_user(
            &[
                (Field::Email, "not-an-address"),
                (Field::LastName, "L"),
                (Field::Phone, "call me"),
            ],
            &Options::default(),
        )
        .unwrap_err();
        let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(columns, ["email", "first_name", "phone"]);
        assert_eq!(errors[1].code, ErrorCode::Required);
        assert_eq!(errors[1].message, "First name is required");
    }

    fn ada() -> User {
        manual_user(
            &[
                (Field::Email, "ada@x.org"),
                (Field::FirstName, "Ada"),
                (Field::LastName, "Lovelace"),
                (Field::Phone, "+44 1"),
                (Field::Title, "Countess"),
            ],
            &Options::default(),
        )
        .unwrap()
    }

    #[test]
    fn self_service_changes_only_editable_fields() {
        let editable = [Field::DisplayName, Field::Phone, Field::Mobile];
        let user = ada();
        // Unchanged non-editable values may be sent back as they are.
        let after = self_service_edit(
            &user,
            &[
                (Field::Phone, " +44 2 "),
                (Field::Mobile, ""),
                (Field::DisplayName, "Ada L."),
                (Field::Title, "Countess"),
                (Field::Email, "ada@x.org"),
            ],
            &editable,
        )
        .unwrap();
        assert_eq!(after.profile.phone(), "+44 2");
        assert_eq!(after.profile.display_name(), "Ada L.");
        assert_eq!(after.profile.title(), "Countess");
        assert_eq!(after.version, user.version, "the store increments it");

        let errors = self_service_edit(
            &user,
            &[
                (Field::Title, "Queen"),
                (Field::Email, "other@x.org"),
                (Field::Phone, "call me"),
            ],
            &editable,
        )
        .unwrap_err();
        let codes: Vec<ErrorCode> = errors.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [
                ErrorCode::NotEditable,
                ErrorCode::NotEditable,
                ErrorCode::InvalidPhone
            ]
        );
    }

    #[test]
    fn a_required_editable_field_cannot_be_cleared() {
        let errors =
            self_service_edit(&ada(), &[(Field::FirstName, " ")], &[Field::FirstName]).unwrap_err();
        assert_eq!(errors[0].code, ErrorCode::Required);
    }
}
