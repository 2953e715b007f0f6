//! The contract's limits, in one place; the comments of `proto/letting/v1/*.proto` state
//! the same numbers. Each bounds what one request can make the server hold, build or store.

/// The largest request the server decodes, in bytes (README, "Limits"). The largest
/// request the other limits allow, a load of [`AREAS`] areas with every field at its
/// limit, is 178 KB. An empty person costs two bytes on the wire and 136 in memory, so
/// a request of nothing else decodes to some 18 MB before validation can refuse it
/// (at tonic's default of 4 MiB it was sixteen times that).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// ID, SERVER ID and PSEUDONYMOUS REF.
pub const ID: usize = 64;
/// TERM: a word of the rules' vocabulary.
pub const TERM: usize = 64;
pub const IDEMPOTENCY_KEY: usize = 200;
/// A vacancy's own reference ("Bispeparken 3, 2. th.").
pub const VACANCY_REF: usize = 64;
/// Names of organisations, areas and departments.
pub const NAME: usize = 200;
/// A caseworker's reasons or note.
pub const REASON: usize = 4000;
/// DECIMAL text, and its digits after the point.
pub const DECIMAL: usize = 32;
pub const DECIMAL_PLACES: usize = 8;
/// A quarter as text: "2007Q2", "2007-Q2".
pub const QUARTER: usize = 8;
/// Adults of one household.
pub const PERSONS: usize = 10;
/// Benefit spells of one person.
pub const BENEFIT_SPELLS: usize = 50;
/// Referral conditions of one household.
pub const REFERRAL_CONDITIONS: usize = 20;
/// Areas of one statistics load.
pub const AREAS: usize = 500;
/// Residents of an area, by any count; eight digits, so never CPR-shaped.
pub const RESIDENTS: u64 = 10_000_000;
/// Dwellings of one department.
pub const DWELLINGS: u32 = 100_000;
/// A person's age in years.
pub const AGE: u32 = 130;
/// A relocation grant, in øre (DKK 1,000,000).
pub const GRANT_ORE: i64 = 100_000_000;
/// Field errors listed in one answer; the rest are counted.
pub const FIELD_ERRORS: usize = 20;
/// Characters of a sent value an error message quotes.
pub const QUOTE: usize = 40;
