//! The idrecon rule catalogue: rule model, parameters, profiles.
