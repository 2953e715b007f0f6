//! letting-rules: the rules of letting Danish social housing, as data, and a pure engine
//! that judges vacancies, lettings, referrals and relocation grants by the rules in force
//! on their date. See README.md for the architecture.

pub mod cases;
pub mod console;
pub mod demo;
pub mod engine;
pub mod grpc;
pub mod log;
pub mod model;
pub mod replay;
pub mod report;
pub mod rules;
pub mod service;
pub mod store;
pub mod telemetry;
