//! Tool-realistic constants: application and resource ids, user agents,
//! failure texts, places and names (TELEMETRY.md §1, §4, §6).
//!
//! Application ids of the attack tools come from their source code (see the
//! source key in TELEMETRY.md); display names Microsoft shows for them are
//! not documented and are marked where they are an assumption.

/// An application (client) as sign-in logs name it.
#[derive(Debug, PartialEq, Eq)]
pub struct App {
    /// Application (client) id.
    pub id: &'static str,
    /// `AppDisplayName`.
    pub name: &'static str,
}

/// A resource (audience) as sign-in logs name it.
#[derive(Debug, PartialEq, Eq)]
pub struct Resource {
    /// Resource id.
    pub id: &'static str,
    /// `ResourceDisplayName`.
    pub name: &'static str,
}

/// A place a sign-in comes from.
#[derive(Debug, PartialEq)]
pub struct Loc {
    /// City.
    pub city: &'static str,
    /// State or province.
    pub state: &'static str,
    /// Two-letter country.
    pub country: &'static str,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// UTC offset of local time in hours (for the diurnal pattern).
    pub utc_offset: i64,
}

macro_rules! app {
    ($n:ident, $id:literal, $name:literal) => {
        #[doc = concat!("`", $name, "` (`", $id, "`).")]
        pub const $n: App = App {
            id: $id,
            name: $name,
        };
    };
}
macro_rules! res {
    ($n:ident, $id:literal, $name:literal) => {
        #[doc = concat!("Resource `", $name, "`.")]
        pub const $n: Resource = Resource {
            id: $id,
            name: $name,
        };
    };
}

// Attack-tool clients (TELEMETRY.md §4, §6).
app!(
    AAD_POWERSHELL,
    "1b730954-1685-4b74-9bfd-dac224a7b894",
    "Azure Active Directory PowerShell"
);
app!(
    AZURE_POWERSHELL,
    "1950a258-227b-4e31-a9cf-717495945fc2",
    "Microsoft Azure PowerShell"
);
// TREVORspray msol sprayer; the display name "Windows Sign In" is an assumption.
app!(
    WINDOWS_SIGN_IN,
    "38aa3b87-a06d-4817-b275-7a316988d93b",
    "Windows Sign In"
);
app!(
    EXCHANGE_ONLINE,
    "00000002-0000-0ff1-ce00-000000000000",
    "Office 365 Exchange Online"
);

/// o365spray v3.0.4 `Defaults.CLIENT_IDS` (FOCI clients; one is picked at
/// random per request), with the names from the tool's comments.
pub const O365SPRAY_CLIENTS: [App; 13] = [
    App {
        id: "a40d7d7d-59aa-447e-a655-679a4107e548",
        name: "Accounts Control UI",
    },
    App {
        id: "f44b1140-bc5e-48c6-8dc0-5cf5a53c0e34",
        name: "Microsoft Edge",
    },
    App {
        id: "e9c51622-460d-4d3d-952d-966a5b1da34c",
        name: "Microsoft Edge",
    },
    App {
        id: "ecd6b820-32c2-49b6-98a6-444530e5a77a",
        name: "Microsoft Edge AAD BrokerPlugin",
    },
    App {
        id: "9ba1a5c7-f17a-4de9-a1f1-6178c8d51223",
        name: "Microsoft Intune Company Portal",
    },
    App {
        id: "c0d2a505-13b8-4ae0-aa9e-cddd5eab0b12",
        name: "Microsoft Power BI",
    },
    App {
        id: "22098786-6e16-43cc-a27d-191a01a1e3b5",
        name: "Microsoft To-Do client",
    },
    App {
        id: "eb539595-3fe1-474e-9c1d-feb3625d1be5",
        name: "Microsoft Tunnel",
    },
    App {
        id: "57336123-6e14-4acc-8dcf-287b6088aa28",
        name: "Microsoft Whiteboard Client",
    },
    App {
        id: "ab9b8c07-8f02-4f72-87fa-80105867a763",
        name: "OneDrive SyncEngine",
    },
    App {
        id: "4e291c71-d680-4d0e-9640-0a3358e31177",
        name: "PowerApps",
    },
    App {
        id: "872cd9fa-d31f-45e0-9eab-6e460a02d1f1",
        name: "Visual Studio",
    },
    App {
        id: "26a7ee05-5602-4d76-a7ba-eae8b7b67941",
        name: "Windows Search",
    },
];

// Everyday first-party apps (background traffic).
app!(
    OFFICE_HOME,
    "4765445b-32c6-49b0-83e6-1d93765276ca",
    "OfficeHome"
);
app!(
    TEAMS,
    "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    "Microsoft Teams"
);
app!(
    OFFICE,
    "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    "Microsoft Office"
);
app!(
    OUTLOOK_MOBILE,
    "27922004-5251-4030-b22d-91ecd9a37ea4",
    "Outlook Mobile"
);
app!(
    ONEDRIVE,
    "ab9b8c07-8f02-4f72-87fa-80105867a763",
    "OneDrive SyncEngine"
);
app!(
    AZURE_PORTAL,
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
    "Azure Portal"
);
app!(
    MY_SIGNINS,
    "19db86c3-b2b9-44cc-b339-36da233a3be2",
    "My Signins"
);
app!(
    AUTH_BROKER,
    "29d9ed98-a469-4536-ade2-f981bc1d605e",
    "Microsoft Authentication Broker"
);

// The tenant's own applications (benign scenarios; ids are invented).
app!(
    LEGACY_SSO_APP,
    "5c9a1f02-7b3e-4d8a-9e61-2f0c4b7d8a13",
    "Contoso Intranet SSO (legacy)"
);
app!(
    EXPIRY_NOTIFIER,
    "8e2d4c61-0a9f-4b57-b3c2-71d5e9f0a246",
    "Contoso Password Expiry Notifier"
);
app!(
    ONBOARDING_APP,
    "d41b7e39-6c2a-4f08-8b15-93e0a7c4f5d2",
    "Contoso Onboarding Automation"
);

res!(
    AAD_GRAPH,
    "00000002-0000-0000-c000-000000000000",
    "Windows Azure Active Directory"
);
res!(
    MS_GRAPH,
    "00000003-0000-0000-c000-000000000000",
    "Microsoft Graph"
);
res!(
    ARM,
    "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    "Windows Azure Service Management API"
);
res!(
    EXO,
    "00000002-0000-0ff1-ce00-000000000000",
    "Office 365 Exchange Online"
);
res!(
    SPO,
    "00000003-0000-0ff1-ce00-000000000000",
    "Office 365 SharePoint Online"
);
res!(
    TEAMS_SVC,
    "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
    "Microsoft Teams Services"
);
res!(
    OFFICE_HOME_RES,
    "4765445b-32c6-49b0-83e6-1d93765276ca",
    "OfficeHome"
);

/// o365spray's default user agent (`Defaults.HTTP_HEADERS`).
pub const UA_O365SPRAY: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/104.0.0.0 Safari/537.36";
/// TREVORspray msol sprayer user agent.
pub const UA_TREVOR: &str = "Windows-AzureAD-Authentication-Provider/1.0";
/// Windows PowerShell 5.1 `Invoke-WebRequest` default (MSOLSpray, MFASweep's
/// ROPC and ActiveSync legs). The exact build number is an assumption.
pub const UA_POWERSHELL: &str =
    "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4291";
/// EWS Managed API default user agent (MFASweep's EWS leg; an assumption).
pub const UA_EWS: &str = "ExchangeServicesClient/15.00.0913.015";
/// MFASweep's seven web-portal user agents (`Invoke-M365WebPortalAuth`), with
/// the platform each claims.
pub const UA_MFASWEEP: [(&str, &str, &str); 7] = [
    (
        "Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/135.0.0.0 Safari/537.36 Edg/135.0.3179.85",
        "Edge 135.0.3179",
    ),
    (
        "Linux",
        "Mozilla/5.0 (X11; Ubuntu; Linux i686; rv:135.0) Gecko/20100101 Firefox/135.0",
        "Firefox 135.0",
    ),
    (
        "MacOs",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:137.0) Gecko/20100101 Firefox/137.0",
        "Firefox 137.0",
    ),
    (
        "Android",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/135.0.0.0 Mobile Safari/537.36",
        "Mobile Chrome 135.0",
    ),
    (
        "Ios",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/605.1.15",
        "Mobile Safari 18.3",
    ),
    (
        "Windows Phone",
        "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; RM-1152) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15254",
        "Edge 15.15254",
    ),
    (
        "",
        "Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/601.6 (KHTML, like Gecko) NF/4.0.0.5.10 NintendoBrowser/5.1.0.13343",
        "",
    ),
];
/// A Java HTTP client (the misconfigured legacy app).
pub const UA_JAVA: &str = "Apache-HttpClient/4.5.13 (Java/1.8.0_292)";
/// Python requests (the password-expiry notifier).
pub const UA_PYTHON: &str = "python-requests/2.31.0";

/// Everyday user agents: (user agent, operating system, browser, client app).
pub const UA_BACKGROUND: [(&str, &str, &str, &str); 8] = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
        "Windows10",
        "Edge 124.0.0",
        "Browser",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Windows10",
        "Chrome 124.0.0",
        "Browser",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        "MacOs",
        "Safari 17.4.1",
        "Browser",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "Ios 17.4.1",
        "Mobile Safari",
        "Mobile Apps and Desktop clients",
    ),
    (
        "Windows-AzureAD-Authentication-Provider/1.0",
        "Windows10",
        "",
        "Mobile Apps and Desktop clients",
    ),
    (
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
        "Windows10",
        "",
        "Mobile Apps and Desktop clients",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        "Android 14",
        "Mobile Chrome 124.0",
        "Browser",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Teams/24102.2223.2870.9480 Chrome/120.0.0.0 Safari/537.36",
        "Windows10",
        "",
        "Mobile Apps and Desktop clients",
    ),
];

/// The failure text sign-in logs carry for a code (`Status.failureReason`,
/// `ResultDescription`). Microsoft's wording is not a contract (ERR).
pub fn failure_reason(code: u32) -> &'static str {
    match code {
        0 => "Other.",
        50034 => {
            "The user account does not exist in the directory. To sign into this application, the account must be added to the directory."
        }
        50126 => "Invalid username or password or Invalid on-premise username or password.",
        50053 => {
            "Account is locked because user tried to sign in too many times with an incorrect user ID or password."
        }
        50055 => "The password is expired.",
        50057 => "User account is disabled. The account has been disabled by an administrator.",
        50072 => "User needs to enroll for second factor authentication.",
        50074 => "Strong Authentication is required.",
        50076 => {
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access."
        }
        50079 => {
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access."
        }
        50140 => {
            "This error occurred due to 'Keep me signed in' interrupt when the user was signing in."
        }
        50144 => "User's Active Directory password has expired.",
        50158 => "External security challenge was not satisfied.",
        53003 => {
            "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
        }
        500121 => "Authentication failed during strong authentication request.",
        50133 => "Session is invalid due to expiration or recent password change.",
        _ => "Other.",
    }
}

/// Portal CSV `Status` text for a code.
pub fn portal_status(code: u32) -> &'static str {
    match code {
        0 => "Success",
        50072 | 50074 | 50076 | 50079 | 50140 | 50158 => "Interrupted",
        _ => "Failure",
    }
}

macro_rules! loc {
    ($n:ident, $city:literal, $state:literal, $cc:literal, $lat:expr, $lon:expr, $off:expr) => {
        #[doc = concat!($city, ", ", $cc, ".")]
        pub const $n: Loc = Loc {
            city: $city,
            state: $state,
            country: $cc,
            lat: $lat,
            lon: $lon,
            utc_offset: $off,
        };
    };
}

loc!(
    AMSTERDAM,
    "Amsterdam",
    "Noord-Holland",
    "NL",
    52.37,
    4.89,
    2
);
loc!(SEATTLE, "Seattle", "Washington", "US", 47.61, -122.33, -7);
loc!(LONDON, "London", "England", "GB", 51.51, -0.13, 1);
loc!(UTRECHT, "Utrecht", "Utrecht", "NL", 52.09, 5.12, 2);
loc!(ROTTERDAM, "Rotterdam", "Zuid-Holland", "NL", 51.92, 4.48, 2);
loc!(BELLEVUE, "Bellevue", "Washington", "US", 47.61, -122.2, -7);
loc!(TACOMA, "Tacoma", "Washington", "US", 47.25, -122.44, -7);
loc!(READING, "Reading", "England", "GB", 51.45, -0.97, 1);
loc!(MANCHESTER, "Manchester", "England", "GB", 53.48, -2.24, 1);
loc!(NEW_YORK, "New York", "New York", "US", 40.71, -74.01, -4);
loc!(TOKYO, "Tokyo", "Tokyo", "JP", 35.68, 139.69, 9);
loc!(BARCELONA, "Barcelona", "Catalonia", "ES", 41.39, 2.17, 2);
loc!(SINGAPORE, "Singapore", "Singapore", "SG", 1.35, 103.82, 8);
loc!(
    FRANKFURT,
    "Frankfurt am Main",
    "Hesse",
    "DE",
    50.11,
    8.68,
    2
);
loc!(ASHBURN, "Ashburn", "Virginia", "US", 39.04, -77.49, -4);
loc!(BUCHAREST, "Bucharest", "Bucuresti", "RO", 44.43, 26.1, 3);
loc!(DUBLIN, "Dublin", "Dublin", "IE", 53.35, -6.26, 1);

/// Office locations, by office index modulo 3.
pub const OFFICES: [&Loc; 3] = [&AMSTERDAM, &SEATTLE, &LONDON];
/// Where people working from home near each office live.
pub const HOMES: [[&Loc; 3]; 3] = [
    [&AMSTERDAM, &UTRECHT, &ROTTERDAM],
    [&SEATTLE, &BELLEVUE, &TACOMA],
    [&LONDON, &READING, &MANCHESTER],
];
/// Travel destinations.
pub const TRAVEL: [&Loc; 4] = [&NEW_YORK, &TOKYO, &BARCELONA, &SINGAPORE];

/// Autonomous systems used for addresses (number, what it is).
pub mod asn {
    /// Microsoft (office egress through Azure Front Door style NAT is not
    /// modelled; offices use a transit ISP).
    pub const OFFICE_ISP: u32 = 1136;
    /// Residential ISPs.
    pub const HOME: [u32; 3] = [33915, 7922, 5089];
    /// Mobile carriers.
    pub const MOBILE: [u32; 3] = [1136, 21928, 12576];
    /// Hetzner (VPS).
    pub const HETZNER: u32 = 24940;
    /// Amazon (API gateways, EC2).
    pub const AMAZON: u32 = 16509;
    /// M247 (VPN exits).
    pub const M247: u32 = 9009;
    /// DigitalOcean.
    pub const DIGITALOCEAN: u32 = 14061;
}

/// Given names for the simulated directory.
pub const FIRST: [&str; 100] = [
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "christopher",
    "lisa",
    "daniel",
    "nancy",
    "matthew",
    "betty",
    "anthony",
    "sandra",
    "mark",
    "margaret",
    "donald",
    "ashley",
    "steven",
    "kimberly",
    "andrew",
    "emily",
    "paul",
    "donna",
    "joshua",
    "michelle",
    "kenneth",
    "carol",
    "kevin",
    "amanda",
    "brian",
    "melissa",
    "george",
    "deborah",
    "timothy",
    "stephanie",
    "ronald",
    "rebecca",
    "jason",
    "sharon",
    "edward",
    "laura",
    "jeffrey",
    "cynthia",
    "ryan",
    "dorothy",
    "jacob",
    "amy",
    "gary",
    "kathleen",
    "nicholas",
    "angela",
    "eric",
    "shirley",
    "jonathan",
    "emma",
    "stephen",
    "brenda",
    "larry",
    "pamela",
    "justin",
    "nicole",
    "scott",
    "anna",
    "brandon",
    "samantha",
    "benjamin",
    "katherine",
    "samuel",
    "christine",
    "gregory",
    "debra",
    "alexander",
    "rachel",
    "patrick",
    "carolyn",
    "frank",
    "janet",
    "raymond",
    "maria",
    "jack",
    "olivia",
    "dennis",
    "heather",
    "jerry",
    "helen",
];
/// Family names for the simulated directory.
pub const LAST: [&str; 100] = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "mitchell",
    "carter",
    "roberts",
    "devries",
    "jansen",
    "bakker",
    "visser",
    "smit",
    "meijer",
    "mulder",
    "bos",
    "vos",
    "peters",
    "hendriks",
    "dekker",
    "brouwer",
    "dijkstra",
    "koster",
    "evans",
    "edwards",
    "collins",
    "stewart",
    "morris",
    "rogers",
    "reed",
    "cook",
    "morgan",
    "bell",
    "murphy",
    "bailey",
    "cooper",
    "richardson",
    "cox",
    "howard",
    "ward",
    "peterson",
    "gray",
    "james",
    "watson",
    "brooks",
    "kelly",
    "sanders",
    "price",
    "bennett",
    "wood",
    "barnes",
    "ross",
    "henderson",
    "coleman",
    "jenkins",
    "perry",
    "powell",
    "long",
];
/// Role and service names attackers put in user lists.
pub const ROLE_NAMES: [&str; 16] = [
    "admin",
    "administrator",
    "test",
    "helpdesk",
    "support",
    "it",
    "hr",
    "info",
    "sales",
    "finance",
    "backup",
    "scanner",
    "svc_sql",
    "svc_backup",
    "guest",
    "webmaster",
];
