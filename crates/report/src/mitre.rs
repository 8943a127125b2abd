//! MITRE ATT&CK names for the technique ids idrecon's rules use, and the
//! mapping used when neither the finding nor the rule metadata carries one.

/// One technique (or sub-technique) with its parent and tactic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Technique {
    /// `T1589.002`.
    pub id: &'static str,
    /// `Email Addresses`.
    pub name: &'static str,
    /// Parent technique id and name for a sub-technique.
    pub parent: Option<(&'static str, &'static str)>,
    /// Tactic id and name (the first tactic for multi-tactic techniques).
    pub tactic: (&'static str, &'static str),
}

const RECON: (&str, &str) = ("TA0043", "Reconnaissance");
const CRED: (&str, &str) = ("TA0006", "Credential Access");
const C2: (&str, &str) = ("TA0011", "Command and Control");
const DISCOVERY: (&str, &str) = ("TA0007", "Discovery");
const INITIAL: (&str, &str) = ("TA0001", "Initial Access");

const GVII: (&str, &str) = ("T1589", "Gather Victim Identity Information");
const BRUTE: (&str, &str) = ("T1110", "Brute Force");

/// The techniques idrecon knows by name.
pub const TECHNIQUES: &[Technique] = &[
    Technique {
        id: "T1589",
        name: GVII.1,
        parent: None,
        tactic: RECON,
    },
    Technique {
        id: "T1589.001",
        name: "Credentials",
        parent: Some(GVII),
        tactic: RECON,
    },
    Technique {
        id: "T1589.002",
        name: "Email Addresses",
        parent: Some(GVII),
        tactic: RECON,
    },
    Technique {
        id: "T1589.003",
        name: "Employee Names",
        parent: Some(GVII),
        tactic: RECON,
    },
    Technique {
        id: "T1110",
        name: BRUTE.1,
        parent: None,
        tactic: CRED,
    },
    Technique {
        id: "T1110.001",
        name: "Password Guessing",
        parent: Some(BRUTE),
        tactic: CRED,
    },
    Technique {
        id: "T1110.003",
        name: "Password Spraying",
        parent: Some(BRUTE),
        tactic: CRED,
    },
    Technique {
        id: "T1090.002",
        name: "External Proxy",
        parent: Some(("T1090", "Proxy")),
        tactic: C2,
    },
    Technique {
        id: "T1087.002",
        name: "Domain Account",
        parent: Some(("T1087", "Account Discovery")),
        tactic: DISCOVERY,
    },
    Technique {
        id: "T1078.004",
        name: "Cloud Accounts",
        parent: Some(("T1078", "Valid Accounts")),
        tactic: INITIAL,
    },
    Technique {
        id: "T1621",
        name: "Multi-Factor Authentication Request Generation",
        parent: None,
        tactic: CRED,
    },
];

/// Looks a technique id up.
pub fn technique(id: &str) -> Option<&'static Technique> {
    TECHNIQUES
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(id.trim()))
}

/// The ATT&CK ids of a detection when neither the finding (`mitre`) nor the
/// rule metadata says: the same lists as the shipped rules.
pub fn default_for(detection: &str) -> &'static [&'static str] {
    match detection {
        "auth_username_enumeration" | "ntlm_logon_enumeration" => {
            &["T1589", "T1589.002", "T1110.003"]
        }
        "password_spray" | "kerberos_password_spray" => &["T1110.003", "T1589.001"],
        "kerberos_user_enumeration" => &["T1589", "T1589.002", "T1087.002"],
        "distributed_enumeration"
        | "distributed_enumeration_asn"
        | "distributed_enumeration_user_agent" => &["T1589", "T1589.002", "T1090.002"],
        "mfa_sweep" => &["T1589.001", "T1078.004", "T1110"],
        _ => &["T1589", "T1589.002"],
    }
}

/// `https://attack.mitre.org/techniques/T1589/002/`.
pub fn url(id: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}/",
        id.trim().replace('.', "/")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let t = technique("t1589.002").expect("known");
        assert_eq!(t.parent.map(|p| p.0), Some("T1589"));
        assert_eq!(t.tactic.0, "TA0043");
        assert_eq!(
            url("T1110.003"),
            "https://attack.mitre.org/techniques/T1110/003/"
        );
        for d in ["password_spray", "x"] {
            assert!(default_for(d).iter().all(|i| technique(i).is_some()));
        }
        assert!(default_for("password_spray").contains(&"T1110.003"));
    }
}
