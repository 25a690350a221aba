//! The domain of SPEC.md: waves, licensees, modules, events, weeks and exact
//! decimals. No I/O happens here.

pub mod decimal;
pub mod event;
pub mod identity;
pub mod labels;
pub mod lang;
pub mod output;
pub mod segment;
pub mod tables;
pub mod week;

pub use decimal::Decimal;
pub use identity::Identity;
pub use labels::Labels;
pub use lang::Lang;
pub use segment::{Dimension, Filter, Scope};
pub use tables::{FieldError, Fields, Licensee, Module, Table, Wave};
pub use week::{LocalDays, LocalZones, Week, Zones};
