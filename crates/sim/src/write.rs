//! Writing records in every shape, with the field names TELEMETRY.md
//! documents (§2 Entra, §5 Windows). One [`SetWriter`] writes one directory
//! in one shape; files are opened on first use, so a directory holds only
//! the tables it has records for.

use crate::catalog;
use crate::directory::{AD_REALM, DOMAIN_SID, NETBIOS};
use crate::labels::FileLabel;
use crate::out::{Obj, csv_field, json_escape_into, json_str, xml_escape_into};
use crate::record::{Audit, Record, SignIn, WinEvent};
use crate::shape::{Family, Shape};
use crate::time::{Spelling, fmt_date, write_ts};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Rows per Graph page (Graph's default and maximum page size).
pub const GRAPH_PAGE: u64 = 1000;

/// The portal CSV header of an interactive sign-in download (TELEMETRY.md
/// §2d: 57 names although the text says 56 columns, with its quirks: trailing spaces in `Application ID `
/// and `Resource ID `, a double space in `Autonomous system  number`, and
/// `Incoming token type` twice).
pub const PORTAL_CSV_HEADER: &str = "Date (UTC),Request ID,User agent,Correlation ID,User ID,User,Username,User type,Cross tenant access type,Incoming token type,Authentication Protocol,Unique token identifier,Original transfer method,Client credential type,Token Protection - Sign In Session,Token Protection - Sign In Session StatusCode,Application,Application ID ,App owner tenant ID,Resource,Resource ID ,Resource tenant ID,Resource owner tenant ID,Home tenant ID,Home tenant name,IP address,Location,Status,Sign-in error code,Failure reason,Client app,Device ID,Browser,Operating System,Compliant,Managed,Join Type,Multifactor authentication result,Multifactor authentication auth method,Multifactor authentication auth detail,Authentication requirement,Sign-in identifier,Session ID,IP address (seen by resource),Through Global Secure Access,Global Secure Access IP address,Autonomous system  number,Flagged for review,Token issuer type,Incoming token type,Token issuer name,Latency,Conditional Access,Managed Identity type,Associated Resource Id,Federated Token Id,Federated Token Issuer";

/// How a file is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// One record per line.
    Lines,
    /// A JSON array, one element per line.
    Array,
    /// `{"records":[…]}`.
    Envelope,
    /// Graph pages (`{"@odata.context":…,"value":[…]}`), one file per page.
    Graph,
    /// CSV with the portal header.
    Csv,
}

struct OutFile {
    dir: PathBuf,
    rel_dir: String,
    stem: String,
    ext: &'static str,
    shape: Shape,
    table: &'static str,
    frame: Frame,
    context: &'static str,
    w: Option<BufWriter<File>>,
    cur_rel: String,
    in_file: u64,
    page: u32,
    records: u64,
    bytes: u64,
    done: Vec<FileLabel>,
}

impl OutFile {
    fn file_name(&self) -> String {
        if self.frame == Frame::Graph {
            format!("{}_page{:03}.{}", self.stem, self.page, self.ext)
        } else {
            format!("{}.{}", self.stem, self.ext)
        }
    }

    fn open(&mut self) -> io::Result<()> {
        let name = self.file_name();
        let path = self.dir.join(&name);
        self.cur_rel = if self.rel_dir.is_empty() {
            name
        } else {
            format!("{}/{name}", self.rel_dir)
        };
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        let head: Vec<u8> = match self.frame {
            Frame::Lines => Vec::new(),
            Frame::Array => b"[\n".to_vec(),
            Frame::Envelope => b"{\"records\":[\n".to_vec(),
            Frame::Graph => {
                let mut h = b"{\"@odata.context\":".to_vec();
                json_str(&mut h, self.context);
                h.extend_from_slice(b",\"value\":[\n");
                h
            }
            Frame::Csv => {
                let mut h = PORTAL_CSV_HEADER.as_bytes().to_vec();
                h.extend_from_slice(b"\r\n");
                h
            }
        };
        w.write_all(&head)?;
        self.bytes += head.len() as u64;
        self.w = Some(w);
        self.in_file = 0;
        Ok(())
    }

    fn close(&mut self, next_link: bool) -> io::Result<()> {
        let Some(mut w) = self.w.take() else {
            return Ok(());
        };
        let tail: Vec<u8> = match self.frame {
            Frame::Lines | Frame::Csv => Vec::new(),
            Frame::Array => b"\n]\n".to_vec(),
            Frame::Envelope => b"\n]}\n".to_vec(),
            Frame::Graph if next_link => {
                let mut t = b"\n],\"@odata.nextLink\":".to_vec();
                let link = format!(
                    "https://graph.microsoft.com/v1.0/auditLogs/{}?$skiptoken={:016x}",
                    if self.table == "AuditLogs" {
                        "directoryAudits"
                    } else {
                        "signIns"
                    },
                    u64::from(self.page) * 0x9E37_79B9 + self.records
                );
                json_str(&mut t, &link);
                t.extend_from_slice(b"}\n");
                t
            }
            Frame::Graph => b"\n]}\n".to_vec(),
        };
        w.write_all(&tail)?;
        w.flush()?;
        self.bytes += tail.len() as u64;
        self.done.push(FileLabel {
            path: self.cur_rel.clone(),
            shape: self.shape.name().to_string(),
            table: self.table.to_string(),
            records: self.in_file,
            bytes: 0,
        });
        Ok(())
    }

    /// Writes one formatted record (`line`, no trailing newline).
    fn push(&mut self, line: &[u8]) -> io::Result<()> {
        if self.frame == Frame::Graph && self.in_file >= GRAPH_PAGE {
            self.close(true)?;
            self.page += 1;
        }
        if self.w.is_none() {
            self.open()?;
        }
        let sep: &[u8] = match self.frame {
            Frame::Array | Frame::Envelope | Frame::Graph if self.in_file > 0 => b",\n",
            _ => b"",
        };
        let end: &[u8] = match self.frame {
            Frame::Lines => b"\n",
            Frame::Csv => b"\r\n",
            _ => b"",
        };
        if let Some(w) = self.w.as_mut() {
            w.write_all(sep)?;
            w.write_all(line)?;
            w.write_all(end)?;
        }
        self.bytes += (sep.len() + line.len() + end.len()) as u64;
        self.in_file += 1;
        self.records += 1;
        Ok(())
    }
}

/// Writes records of any family into one directory in one shape.
pub struct SetWriter {
    dir: PathBuf,
    rel_dir: String,
    shape: Shape,
    tenant: String,
    date_tag: String,
    files: BTreeMap<&'static str, OutFile>,
    line: Vec<u8>,
    scratch: Vec<u8>,
    bytes_before: u64,
}

impl SetWriter {
    /// A writer into `dir` (created), named `rel_dir` in the labels.
    /// `start`/`end` (ns) name the portal download files.
    pub fn new(
        dir: &Path,
        rel_dir: &str,
        shape: Shape,
        tenant: String,
        start: i64,
        end: i64,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(SetWriter {
            dir: dir.to_path_buf(),
            rel_dir: rel_dir.to_string(),
            shape,
            tenant,
            date_tag: format!("{}_{}", fmt_date(start), fmt_date(end)),
            files: BTreeMap::new(),
            line: Vec::with_capacity(4096),
            scratch: Vec::with_capacity(1024),
            bytes_before: 0,
        })
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes_before + self.files.values().map(|f| f.bytes).sum::<u64>()
    }

    /// Writes a batch of time-ordered records (Graph pages newest first).
    pub fn write_batch(&mut self, recs: &[Record]) -> io::Result<()> {
        let graphish = |f: Family| self.shape.for_family(f) == Shape::Graph;
        if graphish(Family::SignIn) || graphish(Family::Audit) {
            for r in recs.iter().rev() {
                self.write(r)?;
            }
        } else {
            for r in recs {
                self.write(r)?;
            }
        }
        Ok(())
    }

    /// Formats one record into the line buffer; returns the shape it is
    /// written in and the line length.
    fn format(&mut self, r: &Record) -> (Shape, usize) {
        let family = match r {
            Record::SignIn(_) => Family::SignIn,
            Record::Audit(_) => Family::Audit,
            Record::Win(_) => Family::Win,
        };
        let shape = self.shape.for_family(family);
        self.line.clear();
        let tenant = self.tenant.as_str();
        match (r, shape) {
            (Record::SignIn(s), Shape::LaNdjson | Shape::LaJson) => {
                signin_la(&mut self.line, &mut self.scratch, s, tenant)
            }
            (Record::SignIn(s), Shape::Graph) => signin_graph(&mut self.line, s),
            (Record::SignIn(s), Shape::AzMon) => signin_azmon(&mut self.line, s, tenant),
            (Record::SignIn(s), _) => signin_csv(&mut self.line, s, tenant),
            (Record::Audit(a), Shape::LaNdjson | Shape::LaJson) => {
                audit_la(&mut self.line, a, tenant)
            }
            (Record::Audit(a), Shape::AzMon) => audit_azmon(&mut self.line, a, tenant),
            (Record::Audit(a), _) => audit_graph(&mut self.line, a),
            (Record::Win(e), Shape::LaNdjson | Shape::LaJson) => {
                win_secevt(&mut self.line, &mut self.scratch, e, tenant)
            }
            (Record::Win(e), Shape::Ecs) => win_ecs(&mut self.line, e),
            (Record::Win(e), Shape::EvtxJson) => win_evtx_json(&mut self.line, e),
            (Record::Win(e), _) => win_xml(&mut self.line, e),
        }
        (shape, self.line.len())
    }

    /// Writes one record.
    pub fn write(&mut self, r: &Record) -> io::Result<()> {
        let (shape, _) = self.format(r);
        let key = file_key(shape, r);
        if !self.files.contains_key(key) {
            let f = self.new_file(shape, r, key);
            self.files.insert(key, f);
        }
        let file = self
            .files
            .get_mut(key)
            .ok_or_else(|| io::Error::other("file table"))?;
        file.push(&self.line)?;
        if let (Record::SignIn(s), Shape::AzMon) = (r, shape)
            && s.duplicate
        {
            file.push(&self.line)?;
        }
        Ok(())
    }

    fn new_file(&self, shape: Shape, r: &Record, key: &'static str) -> OutFile {
        let (frame, ext, context) = match (shape, r) {
            (Shape::LaNdjson, _) => (Frame::Lines, "ndjson", ""),
            (Shape::LaJson, _) => (Frame::Array, "json", ""),
            (Shape::Graph, Record::Audit(_)) => (
                Frame::Graph,
                "json",
                "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits",
            ),
            (Shape::Graph, _) => (
                Frame::Graph,
                "json",
                "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
            ),
            (Shape::AzMon, _) => (Frame::Envelope, "json", ""),
            (Shape::PortalCsv, Record::Audit(_)) => (Frame::Array, "json", ""),
            (Shape::PortalCsv, _) => (Frame::Csv, "csv", ""),
            (Shape::Xml, _) => (Frame::Lines, "xml", ""),
            (Shape::Ecs, _) => (Frame::Lines, "ndjson", ""),
            (Shape::EvtxJson, _) => (Frame::Lines, "jsonl", ""),
        };
        let stem = if shape == Shape::PortalCsv {
            format!("{key}_{}", self.date_tag)
        } else {
            key.to_string()
        };
        OutFile {
            dir: self.dir.clone(),
            rel_dir: self.rel_dir.clone(),
            stem,
            ext,
            shape,
            table: r.table(),
            frame,
            context,
            w: None,
            cur_rel: String::new(),
            in_file: 0,
            page: 1,
            records: 0,
            bytes: 0,
            done: Vec::new(),
        }
    }

    /// Closes every file and returns what was written.
    pub fn finish(self) -> io::Result<Vec<FileLabel>> {
        let mut out = Vec::new();
        for (_, mut f) in self.files {
            f.close(false)?;
            let dir = f.dir.clone();
            for mut l in f.done {
                let name = l.path.rsplit('/').next().unwrap_or(&l.path).to_string();
                l.bytes = std::fs::metadata(dir.join(&name))
                    .map(|m| m.len())
                    .unwrap_or(0);
                out.push(l);
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

/// File stem for a record in a shape.
fn file_key(shape: Shape, r: &Record) -> &'static str {
    match (shape, r) {
        (Shape::Graph, Record::SignIn(s)) if s.interactive => "signIns",
        (Shape::Graph, Record::SignIn(_)) => "signIns_nonInteractive",
        (Shape::Graph, Record::Audit(_)) => "directoryAudits",
        (Shape::AzMon, Record::SignIn(s)) if s.interactive => "SignInLogs",
        (Shape::AzMon, Record::SignIn(_)) => "NonInteractiveUserSignInLogs",
        (Shape::AzMon, Record::Audit(_)) => "AuditLogs",
        (Shape::PortalCsv, Record::SignIn(s)) if s.interactive => "InteractiveSignIns",
        (Shape::PortalCsv, Record::SignIn(_)) => "NonInteractiveSignIns",
        (Shape::PortalCsv, Record::Audit(_)) => "AuditLogs",
        (Shape::Xml, _) => "Security",
        (Shape::Ecs, _) => "winlogbeat-security",
        (Shape::EvtxJson, _) => "Security.evtx",
        (_, r) => r.table(),
    }
}

// ---------------------------------------------------------------- helpers

/// A small stack buffer for formatted values (addresses, hex, SIDs).
struct SBuf {
    b: [u8; 96],
    n: usize,
}

impl SBuf {
    fn new() -> Self {
        SBuf { b: [0; 96], n: 0 }
    }
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.b[..self.n]).unwrap_or("")
    }
    fn clear(&mut self) -> &mut Self {
        self.n = 0;
        self
    }
    fn ip(&mut self, ip: IpAddr) -> &str {
        self.clear();
        let _ = write!(self, "{ip}");
        self.as_str()
    }
    fn hex(&mut self, v: u32, upper: bool) -> &str {
        self.clear();
        if upper {
            let _ = write!(self, "0x{v:X}");
        } else {
            let _ = write!(self, "0x{v:x}");
        }
        self.as_str()
    }
    fn num(&mut self, v: u64) -> &str {
        self.clear();
        let _ = write!(self, "{v}");
        self.as_str()
    }
    fn sid(&mut self, rid: Option<u32>) -> &str {
        self.clear();
        match rid {
            Some(r) => {
                let _ = write!(self, "{DOMAIN_SID}-{r}");
            }
            None => {
                let _ = self.write_str("S-1-0-0");
            }
        }
        self.as_str()
    }
}

impl std::fmt::Write for SBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let bytes = s.as_bytes();
        let end = (self.n + bytes.len()).min(self.b.len());
        self.b[self.n..end].copy_from_slice(&bytes[..end - self.n]);
        self.n = end;
        Ok(())
    }
}

fn uuid_str(o: &mut Obj<'_>, k: &str, u: crate::rng::Uuid) {
    o.s_with(k, |b| u.write_to(b));
}

fn ip_str(o: &mut Obj<'_>, k: &str, ip: IpAddr) {
    let mut s = SBuf::new();
    o.s(k, s.ip(ip));
}

fn ts(o: &mut Obj<'_>, k: &str, t: i64, sp: Spelling) {
    o.s_with(k, |b| write_ts(b, t, sp));
}

fn requirement(s: &SignIn) -> &'static str {
    if s.mfa {
        "multiFactorAuthentication"
    } else {
        "singleFactorAuthentication"
    }
}

fn user_id(s: &SignIn) -> Option<crate::rng::Uuid> {
    s.user.as_ref().map(|u| u.0)
}

fn display(s: &SignIn) -> &str {
    s.user.as_ref().map_or("", |u| &u.1)
}

fn location(o: &mut Obj<'_>, s: &SignIn) {
    o.s("city", s.loc.city)
        .s("state", s.loc.state)
        .s("countryOrRegion", s.loc.country);
    o.obj("geoCoordinates", |g| {
        g.float("latitude", s.loc.lat).float("longitude", s.loc.lon);
    });
}

fn device(o: &mut Obj<'_>, s: &SignIn) {
    o.s("deviceId", "")
        .s("displayName", "")
        .s("operatingSystem", s.os)
        .s("browser", s.browser);
    o.bool("isCompliant", false)
        .bool("isManaged", false)
        .s("trustType", "");
}

fn status(o: &mut Obj<'_>, s: &SignIn) {
    o.int("errorCode", i64::from(s.code))
        .s("failureReason", catalog::failure_reason(s.code));
    if matches!(s.code, 50074 | 50076) {
        o.s("additionalDetails", "MFA required in Azure AD");
    } else {
        o.null("additionalDetails");
    }
}

/// `AuthenticationDetails` steps (array body).
fn auth_details(b: &mut Vec<u8>, s: &SignIn) {
    b.push(b'[');
    {
        let mut o = Obj::open(b);
        ts(
            &mut o,
            "authenticationStepDateTime",
            s.time,
            Spelling::Seven,
        );
        o.s("authenticationMethod", "Password")
            .s("authenticationMethodDetail", "Password in the cloud");
        o.bool(
            "succeeded",
            s.code != 50034 && s.code != 50126 && s.code != 50053 && s.code != 50057,
        );
        o.s(
            "authenticationStepResultDetail",
            if s.code == 0 {
                "Correct password"
            } else {
                catalog::failure_reason(s.code)
            },
        );
        o.s("authenticationStepRequirement", "Primary authentication");
        o.close();
    }
    if s.code == 0 && s.mfa {
        b.push(b',');
        let mut o = Obj::open(b);
        ts(
            &mut o,
            "authenticationStepDateTime",
            s.time,
            Spelling::Seven,
        );
        o.s("authenticationMethod", "Mobile app notification")
            .bool("succeeded", true);
        o.s(
            "authenticationStepResultDetail",
            "MFA successfully completed",
        );
        o.s(
            "authenticationStepRequirement",
            "Multi-factor authentication",
        );
        o.close();
    }
    b.push(b']');
}

// ---------------------------------------------------------------- sign-ins

/// Log Analytics SigninLogs / AADNonInteractiveUserSignInLogs row.
fn signin_la(b: &mut Vec<u8>, scratch: &mut Vec<u8>, s: &SignIn, tenant: &str) {
    let ni = !s.interactive;
    let mut o = Obj::open(b);
    o.s("TenantId", tenant).s("SourceSystem", "Azure AD");
    ts(&mut o, "TimeGenerated", s.time, Spelling::Seven);
    o.s_with("ResourceId", |b| {
        b.extend_from_slice(b"/tenants/");
        json_escape_into(b, tenant);
        b.extend_from_slice(b"/providers/Microsoft.aadiam");
    });
    o.s("OperationName", "Sign-in activity")
        .s("OperationVersion", "1.0");
    o.s(
        "Category",
        if ni {
            "NonInteractiveUserSignInLogs"
        } else {
            "SignInLogs"
        },
    );
    let mut sb = SBuf::new();
    o.s("ResultType", sb.num(u64::from(s.code)));
    o.s("ResultSignature", "None");
    o.s(
        "ResultDescription",
        if s.code == 0 {
            ""
        } else {
            catalog::failure_reason(s.code)
        },
    );
    o.int("DurationMs", 0);
    uuid_str(&mut o, "CorrelationId", s.correlation_id);
    o.s("Resource", "Microsoft.aadiam")
        .s("ResourceGroup", "Microsoft.aadiam")
        .s("ResourceProvider", "Microsoft.aadiam");
    o.s("Identity", display(s))
        .s("Level", "4")
        .s("Location", s.loc.country);
    o.s("AlternateSignInName", &s.upn);
    o.s("AppDisplayName", s.app.name).s("AppId", s.app.id);
    o.s_with("AuthenticationDetails", |b| {
        let mut tmp = Vec::with_capacity(320);
        auth_details(&mut tmp, s);
        json_escape_into(b, std::str::from_utf8(&tmp).unwrap_or("[]"));
    });
    o.s(
        "AuthenticationProcessingDetails",
        "[{\"key\":\"Legacy TLS (TLS 1.0, 1.1, 3DES)\",\"value\":\"False\"}]",
    );
    o.s("AuthenticationProtocol", s.protocol)
        .s("AuthenticationRequirement", requirement(s));
    o.s("AutonomousSystemNumber", sb.num(u64::from(s.asn)));
    o.s("ClientAppUsed", s.client_app)
        .s("ConditionalAccessStatus", s.ca_status);
    ts(&mut o, "CreatedDateTime", s.time, Spelling::Seven);
    if ni {
        o.obj_text("DeviceDetail", scratch, |d| device(d, s));
    } else {
        o.obj("DeviceDetail", |d| device(d, s));
    }
    uuid_str(&mut o, "Id", s.id);
    ip_str(&mut o, "IPAddress", s.ip);
    o.bool("IsInteractive", s.interactive)
        .bool("IsRisky", false);
    if ni {
        o.obj_text("LocationDetails", scratch, |l| location(l, s));
        o.s("MfaDetail", "{}");
    } else {
        o.obj("LocationDetails", |l| location(l, s));
        o.obj("MfaDetail", |_| {});
    }
    uuid_str(&mut o, "OriginalRequestId", s.id);
    o.s(
        if ni {
            "ProcessingTimeInMs"
        } else {
            "ProcessingTimeInMilliseconds"
        },
        sb.num(u64::from(s.latency_ms)),
    );
    o.s("ResourceDisplayName", s.resource.name)
        .s("ResourceIdentity", s.resource.id);
    o.s("RiskDetail", "none")
        .s("RiskLevelAggregated", "none")
        .s("RiskLevelDuringSignIn", "none")
        .s("RiskState", "none");
    if ni {
        o.s("SignInEventTypes", "[\"nonInteractiveUser\"]");
    }
    o.s("SignInIdentifierType", "");
    if ni {
        o.obj_text("Status", scratch, |st| status(st, s));
    } else {
        o.obj("Status", |st| status(st, s));
    }
    o.s("TokenIssuerType", "AzureAD")
        .s("UserAgent", &s.user_agent)
        .s("UserDisplayName", display(s));
    match user_id(s) {
        Some(u) => uuid_str(&mut o, "UserId", u),
        None => {
            o.s("UserId", "");
        }
    }
    o.s("UserPrincipalName", &s.upn).s("UserType", "Member");
    o.s(
        "Type",
        if ni {
            "AADNonInteractiveUserSignInLogs"
        } else {
            "SigninLogs"
        },
    );
    o.close();
}

/// Microsoft Graph v1.0 `signIn` (no `userAgent`: not on the v1.0 resource).
fn signin_graph(b: &mut Vec<u8>, s: &SignIn) {
    let mut o = Obj::open(b);
    uuid_str(&mut o, "id", s.id);
    ts(&mut o, "createdDateTime", s.time, Spelling::Seven);
    o.s("userDisplayName", display(s))
        .s("userPrincipalName", &s.upn);
    match user_id(s) {
        Some(u) => uuid_str(&mut o, "userId", u),
        None => {
            o.s("userId", "");
        }
    }
    o.s("appId", s.app.id).s("appDisplayName", s.app.name);
    ip_str(&mut o, "ipAddress", s.ip);
    o.s("clientAppUsed", s.client_app);
    uuid_str(&mut o, "correlationId", s.correlation_id);
    o.s("conditionalAccessStatus", s.ca_status)
        .bool("isInteractive", s.interactive);
    o.s("riskDetail", "none")
        .s("riskLevelAggregated", "none")
        .s("riskLevelDuringSignIn", "none")
        .s("riskState", "none");
    o.raw("riskEventTypes", b"[]")
        .raw("riskEventTypes_v2", b"[]");
    o.s("resourceDisplayName", s.resource.name)
        .s("resourceId", s.resource.id);
    o.obj("status", |st| status(st, s));
    o.obj("deviceDetail", |d| device(d, s));
    o.obj("location", |l| location(l, s));
    o.raw("appliedConditionalAccessPolicies", b"[]");
    o.close();
}

/// Azure Monitor diagnostic record (category SignInLogs / NonInteractiveUserSignInLogs).
fn signin_azmon(b: &mut Vec<u8>, s: &SignIn, tenant: &str) {
    let mut o = Obj::open(b);
    ts(&mut o, "time", s.time, Spelling::Seven);
    o.s_with("resourceId", |b| {
        b.extend_from_slice(b"/tenants/");
        json_escape_into(b, tenant);
        b.extend_from_slice(b"/providers/Microsoft.aadiam");
    });
    o.s("operationName", "Sign-in activity")
        .s("operationVersion", "1.0");
    o.s(
        "category",
        if s.interactive {
            "SignInLogs"
        } else {
            "NonInteractiveUserSignInLogs"
        },
    );
    o.s("tenantId", tenant);
    let mut sb = SBuf::new();
    o.s("resultType", sb.num(u64::from(s.code)));
    o.s("resultSignature", "None");
    o.s(
        "resultDescription",
        if s.code == 0 {
            ""
        } else {
            catalog::failure_reason(s.code)
        },
    );
    o.int("durationMs", 0);
    ip_str(&mut o, "callerIpAddress", s.ip);
    uuid_str(&mut o, "correlationId", s.correlation_id);
    o.s("identity", display(s))
        .int("Level", 4)
        .s("location", s.loc.country);
    o.obj("properties", |p| {
        uuid_str(p, "id", s.id);
        ts(p, "createdDateTime", s.time, Spelling::SevenOffset);
        p.s("userDisplayName", display(s))
            .s("userPrincipalName", &s.upn);
        match user_id(s) {
            Some(u) => uuid_str(p, "userId", u),
            None => {
                p.s("userId", "");
            }
        }
        p.s("appId", s.app.id).s("appDisplayName", s.app.name);
        ip_str(p, "ipAddress", s.ip);
        p.obj("status", |st| status(st, s));
        p.s("clientAppUsed", s.client_app)
            .s("userAgent", &s.user_agent);
        p.obj("deviceDetail", |d| device(d, s));
        p.obj("location", |l| location(l, s));
        uuid_str(p, "correlationId", s.correlation_id);
        p.s("conditionalAccessStatus", s.ca_status);
        uuid_str(p, "originalRequestId", s.id);
        p.bool("isInteractive", s.interactive)
            .s("tokenIssuerType", "AzureAD");
        p.raw(
            "authenticationProcessingDetails",
            b"[{\"key\":\"Legacy TLS (TLS 1.0, 1.1, 3DES)\",\"value\":\"False\"}]",
        );
        p.int("processingTimeInMilliseconds", i64::from(s.latency_ms));
        p.s("riskDetail", "none")
            .s("riskLevelAggregated", "none")
            .s("riskLevelDuringSignIn", "none")
            .s("riskState", "none");
        p.s("resourceDisplayName", s.resource.name)
            .s("resourceId", s.resource.id);
        p.s("resourceTenantId", tenant)
            .s("homeTenantId", tenant)
            .s("userType", "Member");
        let k = p.key("authenticationDetails");
        auth_details(k, s);
        p.s("authenticationRequirement", requirement(s))
            .raw("authenticationRequirementPolicies", b"[]");
        p.s("authenticationProtocol", s.protocol);
        p.raw(
            "signInEventTypes",
            if s.interactive {
                b"[\"interactiveUser\"]"
            } else {
                b"[\"nonInteractiveUser\"]"
            },
        );
        p.int("autonomousSystemNumber", i64::from(s.asn))
            .s("crossTenantAccessType", "none");
        p.raw("appliedConditionalAccessPolicies", b"[]");
    });
    o.close();
}

/// One portal CSV row (columns of [`PORTAL_CSV_HEADER`]).
fn signin_csv(b: &mut Vec<u8>, s: &SignIn, tenant: &str) {
    let mut sb = SBuf::new();
    let mut cols: Vec<u8> = Vec::with_capacity(64);
    let f = |b: &mut Vec<u8>, v: &str, last: bool| {
        csv_field(b, v);
        if !last {
            b.push(b',');
        }
    };
    let mut t = Vec::with_capacity(24);
    write_ts(&mut t, s.time, Spelling::Seconds);
    f(b, std::str::from_utf8(&t).unwrap_or(""), false);
    cols.clear();
    s.id.write_to(&mut cols);
    f(b, std::str::from_utf8(&cols).unwrap_or(""), false);
    f(b, &s.user_agent, false);
    cols.clear();
    s.correlation_id.write_to(&mut cols);
    f(b, std::str::from_utf8(&cols).unwrap_or(""), false);
    cols.clear();
    if let Some(u) = user_id(s) {
        u.write_to(&mut cols);
    }
    f(b, std::str::from_utf8(&cols).unwrap_or(""), false);
    f(b, display(s), false);
    f(b, &s.upn, false);
    f(b, "Member", false);
    f(b, "None", false); // Cross tenant access type
    f(b, "None", false); // Incoming token type
    f(b, s.protocol, false);
    for _ in 0..5 {
        f(b, "", false); // Unique token identifier … Token Protection StatusCode
    }
    f(b, s.app.name, false);
    f(b, s.app.id, false);
    f(b, "", false); // App owner tenant ID
    f(b, s.resource.name, false);
    f(b, s.resource.id, false);
    f(b, tenant, false); // Resource tenant ID
    f(b, "", false); // Resource owner tenant ID
    f(b, tenant, false); // Home tenant ID
    f(b, "", false); // Home tenant name
    f(b, sb.ip(s.ip), false);
    let loc = format!("{}, {}, {}", s.loc.city, s.loc.state, s.loc.country);
    f(b, &loc, false);
    f(b, catalog::portal_status(s.code), false);
    f(b, sb.num(u64::from(s.code)), false);
    f(b, catalog::failure_reason(s.code), false);
    f(b, s.client_app, false);
    f(b, "", false); // Device ID
    f(b, s.browser, false);
    f(b, s.os, false);
    f(b, "False", false);
    f(b, "False", false);
    f(b, "", false); // Join Type
    let mfa_ok = s.code == 0 && s.mfa;
    f(
        b,
        if mfa_ok {
            "MFA successfully completed"
        } else {
            ""
        },
        false,
    );
    f(
        b,
        if mfa_ok {
            "Mobile app notification"
        } else {
            ""
        },
        false,
    );
    f(b, "", false);
    f(b, requirement(s), false);
    f(b, &s.upn, false); // Sign-in identifier
    f(b, "", false); // Session ID
    f(b, "", false); // IP address (seen by resource)
    f(b, "", false); // Through Global Secure Access
    f(b, "", false); // Global Secure Access IP address
    f(b, sb.num(u64::from(s.asn)), false);
    f(b, "", false); // Flagged for review
    f(b, "AzureAD", false);
    f(b, "None", false); // Incoming token type (again)
    f(b, "", false); // Token issuer name
    f(b, sb.num(u64::from(s.latency_ms)), false);
    f(
        b,
        match s.ca_status {
            "success" => "Success",
            "failure" => "Failure",
            _ => "Not Applied",
        },
        false,
    );
    for i in 0..4 {
        f(b, "", i == 3); // Managed Identity type … Federated Token Issuer
    }
}

// ---------------------------------------------------------------- audits

fn initiated_by(o: &mut Obj<'_>, a: &Audit) {
    match &a.actor {
        Some((upn, id, ip)) => {
            o.null("app");
            o.obj("user", |u| {
                uuid_str(u, "id", *id);
                u.null("displayName").s("userPrincipalName", upn);
                match ip {
                    Some(ip) => ip_str(u, "ipAddress", *ip),
                    None => {
                        u.null("ipAddress");
                    }
                }
                u.raw("roles", b"[]");
            });
        }
        None => {
            o.obj("app", |p| {
                p.s("displayName", a.actor_app.unwrap_or(""))
                    .null("appId")
                    .null("servicePrincipalId");
            });
            o.null("user");
        }
    }
}

fn target_resources(b: &mut Vec<u8>, a: &Audit) {
    b.push(b'[');
    let mut o = Obj::open(b);
    uuid_str(&mut o, "id", a.target.1);
    o.null("displayName")
        .s("type", "User")
        .s("userPrincipalName", &a.target.0);
    o.raw("modifiedProperties", b"[]")
        .raw("administrativeUnits", b"[]");
    o.close();
    b.push(b']');
}

fn audit_id(o: &mut Obj<'_>, k: &str, a: &Audit) {
    o.s_with(k, |b| {
        b.extend_from_slice(a.id_prefix.as_bytes());
        a.id.write_to(b);
    });
}

/// Log Analytics AuditLogs row.
fn audit_la(b: &mut Vec<u8>, a: &Audit, tenant: &str) {
    let mut o = Obj::open(b);
    o.s("TenantId", tenant).s("SourceSystem", "Azure AD");
    ts(&mut o, "TimeGenerated", a.time, Spelling::Seven);
    o.s_with("ResourceId", |b| {
        b.extend_from_slice(b"/tenants/");
        json_escape_into(b, tenant);
        b.extend_from_slice(b"/providers/Microsoft.aadiam");
    });
    o.s("OperationName", a.activity)
        .s("OperationVersion", "1.0")
        .s("Category", a.category);
    o.s("ResultSignature", "None")
        .s("ResultDescription", a.reason)
        .int("DurationMs", 0);
    uuid_str(&mut o, "CorrelationId", a.correlation_id);
    o.s("Resource", "Microsoft.aadiam")
        .s("ResourceGroup", "Microsoft.aadiam")
        .s("ResourceProvider", "Microsoft.aadiam");
    o.s("Identity", "").s("Level", "4").s("Location", "");
    o.raw("AdditionalDetails", b"[]");
    audit_id(&mut o, "Id", a);
    o.obj("InitiatedBy", |i| initiated_by(i, a));
    o.s("LoggedByService", a.service)
        .s("Result", a.result)
        .s("ResultReason", a.reason);
    let k = o.key("TargetResources");
    target_resources(k, a);
    o.s("AADTenantId", tenant)
        .s("ActivityDisplayName", a.activity);
    ts(&mut o, "ActivityDateTime", a.time, Spelling::Seven);
    o.s("AADOperationType", a.operation_type)
        .s("Type", "AuditLogs");
    o.close();
}

/// Microsoft Graph `directoryAudit` (also the portal's JSON download).
fn audit_graph(b: &mut Vec<u8>, a: &Audit) {
    let mut o = Obj::open(b);
    audit_id(&mut o, "id", a);
    o.s("category", a.category);
    uuid_str(&mut o, "correlationId", a.correlation_id);
    o.s("result", a.result)
        .s("resultReason", a.reason)
        .s("activityDisplayName", a.activity);
    ts(&mut o, "activityDateTime", a.time, Spelling::Seven);
    o.s("loggedByService", a.service)
        .s("operationType", a.operation_type);
    o.obj("initiatedBy", |i| initiated_by(i, a));
    let k = o.key("targetResources");
    target_resources(k, a);
    o.raw("additionalDetails", b"[]");
    o.close();
}

/// Azure Monitor diagnostic record, category AuditLogs.
fn audit_azmon(b: &mut Vec<u8>, a: &Audit, tenant: &str) {
    let mut o = Obj::open(b);
    ts(&mut o, "time", a.time, Spelling::Seven);
    o.s_with("resourceId", |b| {
        b.extend_from_slice(b"/tenants/");
        json_escape_into(b, tenant);
        b.extend_from_slice(b"/providers/Microsoft.aadiam");
    });
    o.s("operationName", a.activity)
        .s("operationVersion", "1.0")
        .s("category", "AuditLogs")
        .s("tenantId", tenant);
    o.s("resultSignature", "None").int("durationMs", 0);
    match a.actor.as_ref().and_then(|x| x.2) {
        Some(ip) => ip_str(&mut o, "callerIpAddress", ip),
        None => {
            o.s("callerIpAddress", "<null>");
        }
    }
    uuid_str(&mut o, "correlationId", a.correlation_id);
    o.int("Level", 4);
    o.obj("properties", |p| {
        audit_id(p, "id", a);
        p.s("category", a.category);
        uuid_str(p, "correlationId", a.correlation_id);
        p.s("result", a.result)
            .s("resultReason", a.reason)
            .s("activityDisplayName", a.activity);
        ts(p, "activityDateTime", a.time, Spelling::SevenOffset);
        p.s("loggedByService", a.service)
            .s("operationType", a.operation_type);
        p.obj("initiatedBy", |i| initiated_by(i, a));
        let k = p.key("targetResources");
        target_resources(k, a);
        p.raw("additionalDetails", b"[]");
    });
    o.close();
}

// ---------------------------------------------------------------- Windows

struct WinMeta {
    task: u32,
    keywords: &'static str,
    activity: &'static str,
    action: &'static str,
    success: bool,
}

fn meta(e: &WinEvent) -> WinMeta {
    let ok = e.status == 0;
    let kw = if ok {
        "0x8020000000000000"
    } else {
        "0x8010000000000000"
    };
    match e.event_id {
        4624 => WinMeta {
            task: 12544,
            keywords: kw,
            activity: "4624 - An account was successfully logged on.",
            action: "logged-in",
            success: true,
        },
        4625 => WinMeta {
            task: 12544,
            keywords: kw,
            activity: "4625 - An account failed to log on.",
            action: "logon-failed",
            success: false,
        },
        4768 => WinMeta {
            task: 14339,
            keywords: kw,
            activity: "4768 - A Kerberos authentication ticket (TGT) was requested.",
            action: "kerberos-authentication-ticket-requested",
            success: ok,
        },
        4769 => WinMeta {
            task: 14337,
            keywords: kw,
            activity: "4769 - A Kerberos service ticket was requested.",
            action: "kerberos-service-ticket-requested",
            success: ok,
        },
        4771 => WinMeta {
            task: 14339,
            keywords: kw,
            activity: "4771 - Kerberos pre-authentication failed.",
            action: "kerberos-preauth-failed",
            success: false,
        },
        _ => WinMeta {
            task: 14336,
            keywords: kw,
            activity: "4776 - The computer attempted to validate the credentials for an account.",
            action: "credential-validated",
            success: ok,
        },
    }
}

/// Calls `f(name, value)` for every `EventData` field of the event, in the
/// order Windows writes them. `upper` writes NTSTATUS hex in upper case.
fn event_data(e: &WinEvent, upper: bool, f: &mut dyn FnMut(&'static str, &str)) {
    let mut s = SBuf::new();
    let ip = |s: &mut SBuf| match e.ip {
        Some(ip) => {
            s.ip(ip);
        }
        None => {
            s.clear().n = 0;
            let _ = s.write_str("-");
        }
    };
    match e.event_id {
        4624 | 4625 => {
            f("SubjectUserSid", "S-1-0-0");
            f("SubjectUserName", "-");
            f("SubjectDomainName", "-");
            f("SubjectLogonId", "0x0");
            f(
                "TargetUserSid",
                s.sid(if e.event_id == 4624 { e.rid } else { None }),
            );
            f("TargetUserName", &e.user);
            f("TargetDomainName", NETBIOS);
            if e.event_id == 4625 {
                f("Status", s.hex(e.status, upper));
                f("FailureReason", "%%2313");
                f("SubStatus", s.hex(e.sub_status.unwrap_or(0), upper));
            } else {
                f(
                    "TargetLogonId",
                    s.hex(e.record_id as u32 ^ 0x5a3c_0000, false),
                );
            }
            f("LogonType", s.num(u64::from(e.logon_type.unwrap_or(3))));
            let kerberos = e.event_id == 4624;
            f(
                "LogonProcessName",
                if kerberos { "Kerberos" } else { "NtLmSsp " },
            );
            f(
                "AuthenticationPackageName",
                if kerberos { "Kerberos" } else { "NTLM" },
            );
            f("WorkstationName", e.workstation.as_deref().unwrap_or("-"));
            f("TransmittedServices", "-");
            f("LmPackageName", "-");
            f("KeyLength", "0");
            f("ProcessId", "0x0");
            f("ProcessName", "-");
            ip(&mut s);
            f("IpAddress", s.as_str());
            f("IpPort", s.num(u64::from(e.port)));
        }
        4768 => {
            f("TargetUserName", &e.user);
            f("TargetDomainName", AD_REALM);
            f("TargetSid", s.sid(if e.status == 0 { e.rid } else { None }));
            f(
                "ServiceName",
                if e.status == 0 {
                    "krbtgt"
                } else {
                    "krbtgt/CONTOSO.LOCAL"
                },
            );
            f(
                "ServiceSid",
                if e.status == 0 {
                    "S-1-5-21-3623811015-3361044348-30300820-502"
                } else {
                    "S-1-0-0"
                },
            );
            f("TicketOptions", "0x40810010");
            f("Status", s.hex(e.status, upper));
            f("TicketEncryptionType", s.hex(e.enc_type, false));
            match e.pre_auth {
                Some(p) => f("PreAuthType", s.num(u64::from(p))),
                None => f("PreAuthType", "-"),
            }
            ip(&mut s);
            f("IpAddress", s.as_str());
            f("IpPort", s.num(u64::from(e.port)));
            f("CertIssuerName", "");
            f("CertSerialNumber", "");
            f("CertThumbprint", "");
        }
        4769 => {
            f("TargetUserName", &e.user);
            f("TargetDomainName", AD_REALM);
            f("ServiceName", e.service.as_deref().unwrap_or("krbtgt"));
            f("ServiceSid", "S-1-5-21-3623811015-3361044348-30300820-1001");
            f("TicketOptions", "0x40810000");
            f("TicketEncryptionType", s.hex(e.enc_type, false));
            ip(&mut s);
            f("IpAddress", s.as_str());
            f("IpPort", s.num(u64::from(e.port)));
            f("Status", s.hex(e.status, upper));
            f("LogonGuid", "{00000000-0000-0000-0000-000000000000}");
            f("TransmittedServices", "-");
        }
        4771 => {
            f("TargetUserName", &e.user);
            f("TargetSid", s.sid(e.rid));
            f("ServiceName", "krbtgt/CONTOSO.LOCAL");
            f("TicketOptions", "0x40810010");
            f("Status", s.hex(e.status, upper));
            f("PreAuthType", s.num(u64::from(e.pre_auth.unwrap_or(2))));
            ip(&mut s);
            f("IpAddress", s.as_str());
            f("IpPort", s.num(u64::from(e.port)));
            f("CertIssuerName", "");
            f("CertSerialNumber", "");
            f("CertThumbprint", "");
        }
        _ => {
            f("PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0");
            f("TargetUserName", &e.user);
            f("Workstation", e.workstation.as_deref().unwrap_or(""));
            f("Status", s.hex(e.status, upper));
        }
    }
}

/// wevtutil-style event XML, one event per line.
fn win_xml(b: &mut Vec<u8>, e: &WinEvent) {
    let m = meta(e);
    let _ = write!(
        b,
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{{54849625-5478-4994-a5ba-3e3b0328c30d}}'/><EventID>{}</EventID><Version>0</Version><Level>0</Level><Task>{}</Task><Opcode>0</Opcode><Keywords>{}</Keywords><TimeCreated SystemTime='",
        e.event_id, m.task, m.keywords
    );
    write_ts(b, e.time, Spelling::Seven);
    let _ = write!(
        b,
        "'/><EventRecordID>{}</EventRecordID><Correlation/><Execution ProcessID='672' ThreadID='{}'/><Channel>Security</Channel><Computer>{}</Computer><Security/></System><EventData>",
        e.record_id,
        700 + e.record_id % 3000,
        e.computer
    );
    event_data(e, false, &mut |k, v| {
        b.extend_from_slice(b"<Data Name='");
        b.extend_from_slice(k.as_bytes());
        b.extend_from_slice(b"'>");
        xml_escape_into(b, v);
        b.extend_from_slice(b"</Data>");
    });
    b.extend_from_slice(b"</EventData></Event>");
}

/// Winlogbeat / ECS document.
fn win_ecs(b: &mut Vec<u8>, e: &WinEvent) {
    let m = meta(e);
    let mut o = Obj::open(b);
    ts(&mut o, "@timestamp", e.time, Spelling::Milli);
    let mut sb = SBuf::new();
    o.obj("event", |ev| {
        ev.s("code", sb.num(u64::from(e.event_id)))
            .s("provider", "Microsoft-Windows-Security-Auditing");
        ev.s("action", m.action)
            .s("outcome", if m.success { "success" } else { "failure" })
            .s("kind", "event");
        ev.raw("category", b"[\"authentication\"]");
    });
    o.obj("winlog", |w| {
        // Winlogbeat versions differ: the event id is a number or a string.
        if e.record_id.is_multiple_of(2) {
            w.int("event_id", i64::from(e.event_id));
        } else {
            let mut t = SBuf::new();
            w.s("event_id", t.num(u64::from(e.event_id)));
        }
        w.s("channel", "Security")
            .s("computer_name", e.computer)
            .s("provider_name", "Microsoft-Windows-Security-Auditing");
        w.int("record_id", e.record_id as i64)
            .s("api", "wineventlog");
        w.obj("event_data", |d| {
            event_data(e, true, &mut |k, v| {
                d.s(k, v);
            });
        });
        if e.event_id == 4625 || e.event_id == 4624 {
            w.obj("logon", |l| {
                l.s("type", "Network");
                if e.event_id == 4625 {
                    l.obj("failure", |f| {
                        f.s("reason", "Unknown user name or bad password.");
                        f.s(
                            "status",
                            "This is either due to a bad username or authentication information",
                        );
                        f.s(
                            "sub_status",
                            if e.sub_status == Some(0xC000_0064) {
                                "User logon with misspelled or bad user account"
                            } else {
                                "User logon with misspelled or bad password"
                            },
                        );
                    });
                }
            });
        }
    });
    if let Some(ip) = e.ip {
        let plain = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        o.obj("source", |s| {
            ip_str(s, "ip", plain);
            s.int("port", i64::from(e.port));
        });
    }
    o.obj("user", |u| {
        u.s("name", &e.user).s(
            "domain",
            if matches!(e.event_id, 4768 | 4769 | 4771) {
                AD_REALM
            } else {
                NETBIOS
            },
        );
    });
    o.obj("host", |h| {
        h.s("name", e.computer);
    });
    o.close();
}

/// `evtx_dump -o jsonl` record.
fn win_evtx_json(b: &mut Vec<u8>, e: &WinEvent) {
    let m = meta(e);
    let mut o = Obj::open(b);
    o.obj("Event", |ev| {
        ev.obj("#attributes", |a| {
            a.s(
                "xmlns",
                "http://schemas.microsoft.com/win/2004/08/events/event",
            );
        });
        ev.obj("System", |s| {
            s.obj("Provider", |p| {
                p.obj("#attributes", |a| {
                    a.s("Name", "Microsoft-Windows-Security-Auditing")
                        .s("Guid", "{54849625-5478-4994-a5ba-3e3b0328c30d}");
                });
            });
            s.int("EventID", i64::from(e.event_id))
                .int("Version", 0)
                .int("Level", 0)
                .int("Task", i64::from(m.task));
            s.int("Opcode", 0).s("Keywords", m.keywords);
            s.obj("TimeCreated", |t| {
                t.obj("#attributes", |a| {
                    ts(a, "SystemTime", e.time, Spelling::Seven);
                });
            });
            s.int("EventRecordID", e.record_id as i64)
                .null("Correlation");
            s.obj("Execution", |x| {
                x.obj("#attributes", |a| {
                    a.int("ProcessID", 672)
                        .int("ThreadID", 700 + (e.record_id % 3000) as i64);
                });
            });
            s.s("Channel", "Security")
                .s("Computer", e.computer)
                .null("Security");
        });
        ev.obj("EventData", |d| {
            event_data(e, false, &mut |k, v| {
                d.s(k, v);
            });
        });
    });
    o.close();
}

/// Sentinel / Log Analytics SecurityEvent row: typed columns (lower-case
/// hex), the rest in `EventData` XML text. For 4768/4771 the typed `Status`
/// and `IpAddress` are left empty (whether the agent fills them is
/// unconfirmed), so readers must parse `EventData`.
fn win_secevt(b: &mut Vec<u8>, scratch: &mut Vec<u8>, e: &WinEvent, tenant: &str) {
    let m = meta(e);
    scratch.clear();
    scratch.extend_from_slice(
        b"<EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">",
    );
    event_data(e, false, &mut |k, v| {
        scratch.extend_from_slice(b"<Data Name=\"");
        scratch.extend_from_slice(k.as_bytes());
        scratch.extend_from_slice(b"\">");
        xml_escape_into(scratch, v);
        scratch.extend_from_slice(b"</Data>");
    });
    scratch.extend_from_slice(b"</EventData>");
    let kerberos = matches!(e.event_id, 4768 | 4769 | 4771);
    let mut sb = SBuf::new();
    let mut o = Obj::open(b);
    o.s("TenantId", tenant).s("SourceSystem", "OpsManager");
    ts(&mut o, "TimeGenerated", e.time, Spelling::Seven);
    o.s_with("Account", |b| {
        json_escape_into(b, if kerberos { AD_REALM } else { NETBIOS });
        b.extend_from_slice(b"\\\\");
        json_escape_into(b, &e.user);
    });
    o.s("AccountType", "User")
        .s("Computer", e.computer)
        .s("EventSourceName", "Microsoft-Windows-Security-Auditing");
    o.s("Channel", "Security")
        .s("Task", sb.num(u64::from(m.task)))
        .s("Level", if m.success { "8" } else { "16" });
    o.s_with("EventData", |b| {
        json_escape_into(b, std::str::from_utf8(scratch).unwrap_or(""))
    });
    o.int("EventID", i64::from(e.event_id))
        .s("Activity", m.activity);
    o.s("EventRecordId", sb.num(e.record_id));
    o.s("TargetUserName", &e.user);
    o.s(
        "TargetDomainName",
        if kerberos { AD_REALM } else { NETBIOS },
    );
    match e.event_id {
        4625 => {
            o.s("Status", sb.hex(e.status, false));
            o.s("SubStatus", sb.hex(e.sub_status.unwrap_or(0), false));
            o.s("FailureReason", "%%2313");
        }
        4776 => {
            o.s("Status", sb.hex(e.status, false));
            o.s("PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0");
            o.s("Workstation", e.workstation.as_deref().unwrap_or(""));
        }
        _ => {
            o.s("Status", "");
        }
    }
    if matches!(e.event_id, 4624 | 4625) {
        o.int("LogonType", i64::from(e.logon_type.unwrap_or(3)))
            .s("LogonTypeName", "3 - Network");
        o.s(
            "AuthenticationPackageName",
            if e.event_id == 4624 {
                "Kerberos"
            } else {
                "NTLM"
            },
        );
        o.s(
            "LogonProcessName",
            if e.event_id == 4624 {
                "Kerberos"
            } else {
                "NtLmSsp "
            },
        );
        o.s("WorkstationName", e.workstation.as_deref().unwrap_or("-"));
        match e.ip {
            Some(ip) => ip_str(&mut o, "IpAddress", ip),
            None => {
                o.s("IpAddress", "-");
            }
        }
        o.s("IpPort", sb.num(u64::from(e.port)));
    } else if kerberos {
        o.s("IpAddress", "");
    }
    o.s("Type", "SecurityEvent");
    o.close();
}

/// Bytes `recs` take in `shape` (framing excluded): used to size a corpus.
pub fn measure(shape: Shape, tenant: &str, recs: &[Record]) -> u64 {
    let dir = std::env::temp_dir();
    let mut w = SetWriter {
        dir,
        rel_dir: String::new(),
        shape,
        tenant: tenant.to_string(),
        date_tag: String::new(),
        files: BTreeMap::new(),
        line: Vec::with_capacity(4096),
        scratch: Vec::with_capacity(1024),
        bytes_before: 0,
    };
    let mut total = 0u64;
    for r in recs {
        total += w.format(r).1 as u64 + 2;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_header_columns_and_quirks() {
        let cols: Vec<&str> = PORTAL_CSV_HEADER.split(',').collect();
        assert_eq!(
            cols.len(),
            57,
            "the header TELEMETRY.md §2d lists has 57 names (its text says 56)"
        );
        assert!(cols.contains(&"Application ID "));
        assert!(cols.contains(&"Resource ID "));
        assert!(cols.contains(&"Autonomous system  number"));
        assert_eq!(
            cols.iter().filter(|c| **c == "Incoming token type").count(),
            2
        );
    }
}
