//! The schedule of a report definition: a cron expression.

use std::str::FromStr;

/// Parses a cron expression: five fields (minute hour day-of-month month
/// day-of-week), six with seconds first, or `@daily` and the like. Days of
/// the week must be names: cron dialects disagree on what 0, 1 and 7 mean.
pub fn parse(expr: &str) -> Result<cron::Schedule, String> {
    let expr = expr.trim();
    let full = if expr.starts_with('@') {
        expr.to_string()
    } else {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let dow = match fields.len() {
            5 => fields[4],
            6 | 7 => fields[5],
            n => {
                return Err(format!(
                    "cron '{expr}' has {n} fields: give five (minute hour day month weekday) or six (with seconds first)"
                ));
            }
        };
        if dow.chars().any(|c| c.is_ascii_digit()) {
            return Err(format!(
                "cron '{expr}': write the day of week as names (MON, MON-FRI), not '{dow}': cron dialects number days differently"
            ));
        }
        if fields.len() == 5 {
            format!("0 {expr}")
        } else {
            expr.to_string()
        }
    };
    cron::Schedule::from_str(&full).map_err(|e| format!("cron '{expr}': {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_expressions_are_checked() {
        assert!(parse("*/3 * * * * *").is_ok());
        assert!(parse("0 7 * * MON-FRI").is_ok());
        assert!(parse("@daily").is_ok());
        for (bad, needle) in [
            ("0 7 * * 1", "names"),
            ("0 7 * *", "4 fields"),
            ("0 25 * * MON", "cron"),
            ("", "0 fields"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
