//! The participants of the reference scenario, as every development network
//! (`kp-dev devnet`, the demo, the benchmarks) and the tests spell them.
//! Data only: the keys of a development network are made where it is made.

/// Code, name, zone regime.
pub const PARTICIPANTS: [(&str, &str, bool); 5] = [
    ("CF", "Central African Republic", true),
    ("BW", "Botswana", false),
    ("EU", "European Union", false),
    ("AE", "United Arab Emirates", false),
    ("IN", "India", false),
];

/// The monitoring team of the reference scenario, scoped to CF.
pub const MONITOR_ID: &str = "MT-CF";
