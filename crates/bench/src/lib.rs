//! Benchmark corpora for idrecon.
//!
//! - [`write_signin_ndjson`]: Log Analytics `SigninLogs` rows as NDJSON, 73
//!   realistic columns (~3.8 KB a row), 86% successes, the rest benign
//!   failures (MFA interrupts, bad passwords, …) and a few enumeration and
//!   spray bursts, so that every Entra rule has work and findings. Dynamic
//!   columns are written the two ways exports do: `Status` as JSON text (with
//!   escaped quotes), `DeviceDetail` / `LocationDetails` /
//!   `ConditionalAccessPolicies` as nested JSON.
//! - [`replicate_evtx`]: copies EVTX sample files many times into one
//!   directory (real EVTX cannot be synthesised cheaply; the public samples
//!   are replicated instead).
//!
//! Output is deterministic for a given seed.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One item of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A GUID-shaped string.
    pub fn guid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

/// What the sign-in corpus holds.
#[derive(Debug, Clone)]
pub struct SigninSpec {
    /// Rows to write.
    pub rows: u64,
    /// Seed of the generator.
    pub seed: u64,
    /// First event time, seconds since the Unix epoch.
    pub start: i64,
    /// Seconds covered by the corpus (rows are spread evenly, in time order).
    pub span: i64,
}

impl Default for SigninSpec {
    fn default() -> Self {
        SigninSpec {
            rows: 270_000,
            seed: 1589,
            // 2024-05-01T00:00:00Z
            start: 1_714_521_600,
            span: 7 * 86_400,
        }
    }
}

/// Counts of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigninCounts {
    /// Rows written.
    pub rows: u64,
    /// Rows with `ResultType` `"0"`.
    pub successes: u64,
    /// Rows with a code the seed rule counts (50034, 50053, 50055, 50057,
    /// 50072, 50076).
    pub seed_codes: u64,
    /// Bytes written.
    pub bytes: u64,
}

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

struct App {
    name: &'static str,
    id: &'static str,
    resource: &'static str,
    resource_id: &'static str,
}

const APPS: &[App] = &[
    App {
        name: "Office 365 Exchange Online",
        id: "00000002-0000-0ff1-ce00-000000000000",
        resource: "Office 365 Exchange Online",
        resource_id: "00000002-0000-0ff1-ce00-000000000000",
    },
    App {
        name: "Microsoft Teams",
        id: "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
        resource: "Microsoft Teams Services",
        resource_id: "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
    },
    App {
        name: "Microsoft Office",
        id: "d3590ed6-52b3-4102-aeff-aad2292ab01c",
        resource: "Office 365 SharePoint Online",
        resource_id: "00000003-0000-0ff1-ce00-000000000000",
    },
    App {
        name: "Azure Portal",
        id: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        resource: "Windows Azure Service Management API",
        resource_id: "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    },
    App {
        name: "Microsoft Authentication Broker",
        id: "29d9ed98-a469-4536-ade2-f981bc1d605e",
        resource: "Microsoft Graph",
        resource_id: "00000003-0000-0000-c000-000000000000",
    },
];

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)",
    "Windows-AzureAD-Authentication-Provider/1.0",
];

const CLIENT_APPS: &[&str] = &["Browser", "Mobile Apps and Desktop clients"];

const CITIES: &[(&str, &str, &str, &str, &str)] = &[
    ("Amsterdam", "Noord-Holland", "NL", "52.37", "4.89"),
    ("Seattle", "Washington", "US", "47.61", "-122.33"),
    ("London", "England", "GB", "51.51", "-0.13"),
    ("Berlin", "Berlin", "DE", "52.52", "13.40"),
];

/// Benign failures: (code, share in per-mille of all rows, description).
const BENIGN_FAILURES: &[(&str, u64, &str)] = &[
    (
        "50140",
        30,
        "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    ),
    ("50074", 25, "Strong Authentication is required."),
    (
        "50126",
        15,
        "Error validating credentials due to invalid username or password.",
    ),
    (
        "50076",
        30,
        "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
    ),
    (
        "50072",
        8,
        "User needs to enroll for second factor authentication.",
    ),
    (
        "65001",
        6,
        "The user or administrator has not consented to use the application.",
    ),
    ("50055", 4, "The password is expired."),
    ("50057", 3, "The user account is disabled."),
    (
        "50053",
        3,
        "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
    ),
];

const SEED_CODES: &[&str] = &["50034", "50053", "50055", "50057", "50072", "50076"];

/// Writes `spec.rows` SigninLogs rows as NDJSON.
pub fn write_signin_ndjson(out: &mut dyn Write, spec: &SigninSpec) -> io::Result<SigninCounts> {
    let mut rng = Rng::new(spec.seed);
    let users: Vec<String> = (0..4000)
        .map(|i| format!("user{i:04}@contoso.com"))
        .collect();
    let mut counts = SigninCounts::default();
    let mut line = String::with_capacity(8192);
    let step = (spec.span as f64 / spec.rows.max(1) as f64).max(0.0);
    // An attack burst every ~20,000 rows: one source probing many names.
    let burst_every = 20_000u64;
    for n in 0..spec.rows {
        let t = spec.start as f64 + step * n as f64;
        let secs = t.floor() as i64;
        let frac = ((t - t.floor()) * 1e7) as u64 + rng.below(1000);
        let phase = n % burst_every;
        // … and one in the last rows, inside the seed's one-hour lookback.
        let attack = (phase < 400 && n >= burst_every / 2) || n + 300 >= spec.rows;
        let (user, ip, code, desc, agent, app): (String, String, &str, &str, &str, &App) = if attack
        {
            let burst = n / burst_every;
            let ip = format!("198.51.100.{}", 10 + burst % 200);
            let (code, desc) = match rng.below(10) {
                0..=5 => (
                    "50034",
                    "The user account does not exist in the directory. To sign into this application, the account must be added to the directory.",
                ),
                6..=8 => (
                    "50126",
                    "Error validating credentials due to invalid username or password.",
                ),
                _ => (
                    "50053",
                    "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
                ),
            };
            let user = if code == "50034" {
                format!("guess{}@contoso.com", rng.below(100_000))
            } else {
                rng.pick(&users).clone()
            };
            (
                user,
                ip,
                code,
                desc,
                "Windows-AzureAD-Authentication-Provider/1.0",
                &APPS[3],
            )
        } else {
            let user = rng.pick(&users).clone();
            let ip = format!(
                "{}.{}.{}.{}",
                [20, 40, 52, 81, 145][(rng.below(5)) as usize],
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            );
            let roll = rng.below(1000);
            let mut acc = 0;
            let mut pick = ("0", "");
            let fail_share: u64 = BENIGN_FAILURES.iter().map(|f| f.1).sum();
            if roll >= 1000 - fail_share {
                let r = roll - (1000 - fail_share);
                for (c, share, d) in BENIGN_FAILURES {
                    acc += share;
                    if r < acc {
                        pick = (c, d);
                        break;
                    }
                }
            }
            (user, ip, pick.0, pick.1, *rng.pick(AGENTS), rng.pick(APPS))
        };
        if code == "0" {
            counts.successes += 1;
        }
        if SEED_CODES.contains(&code) {
            counts.seed_codes += 1;
        }
        line.clear();
        signin_row(
            &mut line, &mut rng, secs, frac, &user, &ip, code, desc, agent, app,
        );
        line.push('\n');
        out.write_all(line.as_bytes())?;
        counts.rows += 1;
        counts.bytes += line.len() as u64;
    }
    Ok(counts)
}

/// `2024-05-01T10:00:22.5784462Z` for seconds since the epoch and 100 ns
/// ticks.
pub fn format_time(secs: i64, ticks: u64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:07}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        ticks % 10_000_000
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[allow(clippy::too_many_arguments)]
fn signin_row(
    s: &mut String,
    rng: &mut Rng,
    secs: i64,
    frac: u64,
    user: &str,
    ip: &str,
    code: &str,
    desc: &str,
    agent: &str,
    app: &App,
) {
    use std::fmt::Write as _;
    let time = format_time(secs, frac);
    let created = format_time(secs.saturating_sub(1), frac / 3);
    let corr = rng.guid();
    let id = rng.guid();
    let user_id = rng.guid();
    let (city, state, country, lat, lon) = *rng.pick(CITIES);
    let client_app = *rng.pick(CLIENT_APPS);
    let success = code == "0";
    let interactive = rng.below(3) != 0;
    let mfa = if success && rng.below(4) == 0 {
        "multiFactorAuthentication"
    } else {
        "singleFactorAuthentication"
    };
    let ca_status = if success { "success" } else { "notApplied" };
    let display = user
        .split('@')
        .next()
        .unwrap_or(user)
        .replace('.', " ")
        .to_uppercase();
    let failure = if success { "Other." } else { desc };
    let asn = 8075 + rng.below(40);
    let duration = rng.below(900);
    let ca_policies = |s: &mut String, rng: &mut Rng| {
        s.push('[');
        for i in 0..2 {
            if i > 0 {
                s.push_str(", ");
            }
            let pid = rng.guid();
            let _ = write!(
                s,
                "{{\"id\": \"{pid}\", \"displayName\": \"CA00{i} - Require MFA\", \"enforcedGrantControls\": [\"Mfa\"], \"enforcedSessionControls\": [], \"result\": \"{}\", \"conditionsSatisfied\": 3, \"conditionsNotSatisfied\": 0}}",
                if i == 0 { ca_status } else { "notEnabled" }
            );
        }
        s.push(']');
    };
    let _ = write!(
        s,
        "{{\"TenantId\": \"{TENANT}\", \"SourceSystem\": \"Azure AD\", \"TimeGenerated\": \"{time}\", \
\"ResourceId\": \"/tenants/{TENANT}/providers/Microsoft.aadiam\", \"OperationName\": \"Sign-in activity\", \
\"OperationVersion\": \"1.0\", \"Category\": \"SignInLogs\", \"ResultType\": \"{code}\", \
\"ResultSignature\": \"None\", \"ResultDescription\": \"{desc}\", \"DurationMs\": {duration}, \
\"CorrelationId\": \"{corr}\", \"Resource\": \"Microsoft.aadiam\", \"ResourceGroup\": \"Microsoft.aadiam\", \
\"ResourceProvider\": \"Microsoft.aadiam\", \"Identity\": \"{display}\", \"Level\": \"4\", \
\"Location\": \"{country}\", \"AlternateSignInName\": \"{user}\", \"AppDisplayName\": \"{}\", \"AppId\": \"{}\", \
\"AuthenticationContextClassReferences\": \"[]\", \
\"AuthenticationDetails\": \"[{{\\\"authenticationStepDateTime\\\":\\\"{created}\\\",\\\"authenticationMethod\\\":\\\"Password\\\",\\\"authenticationMethodDetail\\\":\\\"Password in the cloud\\\",\\\"succeeded\\\":{},\\\"authenticationStepResultDetail\\\":\\\"{}\\\",\\\"authenticationStepRequirement\\\":\\\"Primary authentication\\\"}}]\", \
\"AuthenticationMethodsUsed\": \"[]\", \
\"AuthenticationProcessingDetails\": \"[{{\\\"key\\\":\\\"Legacy TLS (TLS 1.0, 1.1, 3DES)\\\",\\\"value\\\":\\\"False\\\"}},{{\\\"key\\\":\\\"Oauth Scope Info\\\",\\\"value\\\":\\\"[\\\\\\\"email\\\\\\\",\\\\\\\"openid\\\\\\\",\\\\\\\"profile\\\\\\\"]\\\"}}]\", \
\"AuthenticationProtocol\": \"none\", \"AuthenticationRequirement\": \"{mfa}\", \
\"AuthenticationRequirementPolicies\": \"[]\", \"AutonomousSystemNumber\": \"{asn}\", \
\"ClientAppUsed\": \"{client_app}\", \"ConditionalAccessPolicies\": ",
        app.name,
        app.id,
        if success { "true" } else { "false" },
        if success {
            "Correct password"
        } else {
            "Invalid username or password or Invalid on-premise username or password."
        },
    );
    ca_policies(s, rng);
    let _ = write!(
        s,
        ", \"ConditionalAccessStatus\": \"{ca_status}\", \"CreatedDateTime\": \"{created}\", \
\"CrossTenantAccessType\": \"none\", \
\"DeviceDetail\": {{\"deviceId\": \"\", \"displayName\": \"\", \"operatingSystem\": \"Windows10\", \"browser\": \"Edge 124.0.0\", \"isCompliant\": false, \"isManaged\": false, \"trustType\": \"\"}}, \
\"FlaggedForReview\": false, \"HomeTenantId\": \"{TENANT}\", \"Id\": \"{id}\", \"IPAddress\": \"{ip}\", \
\"IPAddressFromResourceProvider\": \"\", \"IsInteractive\": {interactive}, \"IsRisky\": false, \
\"LocationDetails\": {{\"city\": \"{city}\", \"state\": \"{state}\", \"countryOrRegion\": \"{country}\", \"geoCoordinates\": {{\"latitude\": {lat}, \"longitude\": {lon}}}}}, \
\"MfaDetail\": {{}}, \"NetworkLocationDetails\": \"[]\", \"OriginalRequestId\": \"{id}\", \
\"ProcessingTimeInMilliseconds\": \"{duration}\", \"ResourceDisplayName\": \"{}\", \
\"ResourceIdentity\": \"{}\", \"ResourceServicePrincipalId\": \"{}\", \"ResourceTenantId\": \"{TENANT}\", \
\"RiskDetail\": \"none\", \"RiskEventTypes\": \"[]\", \"RiskEventTypes_V2\": \"[]\", \"RiskLevel\": \"\", \
\"RiskLevelAggregated\": \"none\", \"RiskLevelDuringSignIn\": \"none\", \"RiskState\": \"none\", \
\"ServicePrincipalId\": \"\", \"ServicePrincipalName\": \"\", \"SessionLifetimePolicies\": \"[]\", \
\"SignInIdentifier\": \"\", \"SignInIdentifierType\": \"\", \
\"Status\": \"{{\\\"errorCode\\\":{code},\\\"failureReason\\\":\\\"{failure}\\\",\\\"additionalDetails\\\":\\\"MFA completed\\\"}}\", \
\"TokenIssuerName\": \"\", \"TokenIssuerType\": \"AzureAD\", \"UniqueTokenIdentifier\": \"{}\", \
\"UserAgent\": \"{agent}\", \"UserDisplayName\": \"{display}\", \"UserId\": \"{user_id}\", \
\"UserPrincipalName\": \"{user}\", \"UserType\": \"Member\", \"Type\": \"SigninLogs\"}}",
        app.resource,
        app.resource_id,
        app.resource_id,
        rng.guid(),
    );
}

/// Copies every `.evtx` file under `from` into `out`, `copies` times each
/// (file names get a copy number). Returns the files written.
pub fn replicate_evtx(from: &Path, out: &Path, copies: u32) -> io::Result<Vec<PathBuf>> {
    let mut sources = Vec::new();
    collect_evtx(from, &mut sources)?;
    sources.sort();
    std::fs::create_dir_all(out)?;
    let mut written = Vec::new();
    for c in 0..copies {
        for (i, src) in sources.iter().enumerate() {
            let stem = src
                .file_stem()
                .map(|s| s.to_string_lossy().replace(' ', "_"))
                .unwrap_or_default();
            let dst = out.join(format!("{c:04}-{i:02}-{stem}.evtx"));
            std::fs::copy(src, &dst)?;
            written.push(dst);
        }
    }
    Ok(written)
}

fn collect_evtx(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            collect_evtx(&p, out)?;
        } else if p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
        {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_json_with_73_columns() {
        let mut buf = Vec::new();
        let spec = SigninSpec {
            rows: 50,
            ..Default::default()
        };
        let c = write_signin_ndjson(&mut buf, &spec).expect("write");
        assert_eq!(c.rows, 50);
        let text = String::from_utf8(buf).expect("utf8");
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
            let m = v.as_object().expect("object");
            assert_eq!(m.len(), 73, "{line}");
            let status: serde_json::Value =
                serde_json::from_str(m["Status"].as_str().expect("text")).expect("status JSON");
            assert!(status["errorCode"].is_number());
        }
        let avg = c.bytes / c.rows;
        assert!((3000..4600).contains(&avg), "average row {avg} bytes");
    }

    #[test]
    fn times_format() {
        assert_eq!(
            format_time(1_714_558_822, 5_784_462),
            "2024-05-01T10:20:22.5784462Z"
        );
    }
}

/// The hunt pipeline without reports, for benchmarks and equivalence
/// checks of the fast paths.
pub mod hunt {
    use idrecon_engine::{EngineBuilder, Run};
    use idrecon_ingest::{EventSink, FastPath, IngestOptions, Prefilter};
    use idrecon_rules::{Catalogue, Profile};
    use std::path::PathBuf;

    /// What to run.
    #[derive(Debug, Clone)]
    pub struct Config {
        /// `seed` or `recommended`.
        pub profile: String,
        /// The scanning reader.
        pub fast: bool,
        /// The rule-derived prefilter (with `fast`).
        pub prefilter: bool,
        /// EVTX events built from template values (with `fast`).
        pub direct: bool,
        /// Reader threads.
        pub threads: usize,
        /// Block size for reading a large NDJSON file on several threads.
        pub block_bytes: usize,
    }

    impl Default for Config {
        fn default() -> Self {
            Config {
                profile: "seed".into(),
                fast: true,
                prefilter: true,
                direct: true,
                threads: 1,
                block_bytes: idrecon_ingest::DEFAULT_BLOCK_BYTES,
            }
        }
    }

    /// What a run produced.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Outcome {
        /// Input files.
        pub files: usize,
        /// Records read.
        pub read: u64,
        /// Records used.
        pub used: u64,
        /// Records rejected.
        pub rejected: u64,
        /// Events the engine counted.
        pub pushed: u64,
        /// Findings.
        pub findings: usize,
        /// Hash of the findings' JSON (equal hashes: equal findings).
        pub digest: u64,
        /// The findings as JSON lines.
        pub json: Vec<String>,
    }

    struct Feed<'r, 'e>(&'r mut Run<'e>);

    impl EventSink for Feed<'_, '_> {
        fn event(&mut self, ev: idrecon_core::Event) {
            self.0.push(ev);
        }
        fn skipped(&mut self, time: idrecon_core::Timestamp, kind: idrecon_core::EventKind) {
            self.0.push_unused(time, kind);
        }
    }

    /// The prefilter of a catalogue's rules.
    pub fn prefilter(catalogue: &Catalogue) -> Prefilter {
        let rules = catalogue.rules().to_vec();
        Prefilter::with_fields(move |kind, table, known| {
            rules.iter().any(|r| r.may_use(kind, table, known))
        })
    }

    /// Runs the hunt.
    pub fn run(cfg: &Config, paths: &[PathBuf]) -> Result<Outcome, String> {
        let profile: Profile = cfg.profile.parse()?;
        let catalogue = Catalogue::load(profile, &[]).map_err(|e| e.to_string())?;
        let files = idrecon_ingest::expand_paths(paths).map_err(|e| e.to_string())?;
        let engine = EngineBuilder::new()
            .rules(catalogue.rules().iter().cloned())
            .profile(profile.as_str())
            .build();
        let mut run = engine.run(files.iter().map(|f| f.display.clone()).collect());
        let fast = FastPath {
            enabled: cfg.fast,
            evtx_direct: cfg.fast && cfg.direct,
            prefilter: (cfg.fast && cfg.prefilter).then(|| prefilter(&catalogue)),
            threads: cfg.threads.max(1),
            block_bytes: cfg.block_bytes.max(1),
        };
        let report = idrecon_ingest::read_all_into(
            &files,
            &IngestOptions::default(),
            &fast,
            &mut Feed(&mut run),
        )
        .map_err(|e| e.to_string())?;
        let (findings, summary) = run.finish();
        let totals = report.totals();
        let json: Vec<String> = findings
            .iter()
            .map(|f| serde_json::to_string(f).unwrap_or_default())
            .collect();
        let mut digest = 0xcbf2_9ce4_8422_2325u64;
        for b in json.iter().flat_map(|l| l.bytes().chain([b'\n'])) {
            digest = (digest ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Ok(Outcome {
            files: files.len(),
            read: totals.read,
            used: totals.used,
            rejected: totals.rejected,
            pushed: summary.events,
            findings: findings.len(),
            digest,
            json,
        })
    }
}
