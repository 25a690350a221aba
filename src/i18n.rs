//! The languages of pages and reports: English and German, chosen by `?lang=`, else by
//! the browser's `Accept-Language`, else English. Reports name theirs.

use crate::model::output::{Cell, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == s)
    }

    /// The best of our languages for an `Accept-Language` header: the
    /// highest `q` among those we have, ties to the earlier one.
    pub fn negotiate(accept: Option<&str>) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in accept.unwrap_or("").split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            if let Some(lang) = Lang::parse(primary)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// A fixed text of the pages.
    pub fn t(self, key: &str) -> &'static str {
        let (en, de) = match key {
            "apply" => ("Apply", "Anwenden"),
            "all" => ("all", "alle"),
            "region" => ("Region", "Region"),
            "department" => ("Department", "Abteilung"),
            "team" => ("Team", "Team"),
            "wave" => ("Wave", "Welle"),
            "from" => ("From week", "Von Woche"),
            "to" => ("To week", "Bis Woche"),
            "reset" => ("Reset filters", "Filter zurücksetzen"),
            "week" => ("Week", "Woche"),
            "open_pdf" => ("Open the PDF", "PDF öffnen"),
            "unsubscribe" => ("Unsubscribe", "Abbestellen"),
            "open_dashboard" => ("Open the dashboard", "Dashboard öffnen"),
            "open_alerts" => ("Open the alerts", "Warnungen öffnen"),
            "highlight" => ("Target passed", "Ziel erreicht"),
            "and_more" => ("and more:", "und weitere:"),
            "alert_new" => ("new", "neu"),
            "alert_resolved" => ("resolved", "erledigt"),
            "alerts" => ("Alerts", "Warnungen"),
            "alert" => ("Alert", "Warnung"),
            "alerts_none_in_scope" => (
                "No alert is on for this scope.",
                "Für diesen Bereich ist keine Warnung aktiv.",
            ),
            "alerts_since" => ("since", "seit"),
            "alerts_active_count" => ("active alerts", "aktive Warnungen"),
            "alerts_active" => ("Active alerts", "Aktive Warnungen"),
            "alerts_past" => ("Past notices", "Frühere Meldungen"),
            "alerts_defined" => ("Alerts defined", "Definierte Warnungen"),
            "alert_condition" => ("Condition", "Bedingung"),
            "alert_since" => ("Since", "Seit"),
            "alert_segment" => ("Segment", "Segment"),
            "alert_message" => ("Message", "Meldung"),
            "alert_none_active" => ("No alert is active.", "Keine Warnung ist aktiv."),
            "weeks_since_go_live" => ("Weeks since go-live", "Wochen seit Go-Live"),
            "suppressed" => ("suppressed", "unterdrückt"),
            "suppressed_note" => (
                "Suppressed: fewer licensees than the minimum group size, so no figures are shown.",
                "Unterdrückt: weniger Lizenznehmer als die Mindestgruppengröße, daher werden keine Zahlen gezeigt.",
            ),
            "no_data" => (
                "No data for this selection",
                "Keine Daten für diese Auswahl",
            ),
            "target" => ("Target", "Ziel"),
            "passed" => ("target passed", "Ziel erreicht"),
            "missed" => ("below target", "unter dem Ziel"),
            "vs_previous" => ("vs. previous week", "ggü. Vorwoche"),
            "trend" => ("Trend", "Verlauf"),
            "weeks" => ("Weeks", "Wochen"),
            "in_week" => ("Week", "Woche"),
            "rows_shown" => ("rows shown of", "Zeilen angezeigt von"),
            "language" => ("Language", "Sprache"),
            "filters" => ("Filters", "Filter"),
            "error" => (
                "The request cannot be shown",
                "Die Anfrage kann nicht angezeigt werden",
            ),
            "no_events" => (
                "No events are stored yet. Import data with `uptake import`.",
                "Noch keine Ereignisse gespeichert. Daten mit `uptake import` importieren.",
            ),
            "target_line" => ("target", "Ziel"),
            "mu_target_share" => ("target share of licensed", "Zielanteil der lizenzierten"),
            "none" => ("none", "keine"),
            // figures
            "eligible" => ("Eligible licensees", "Berechtigte Lizenznehmer"),
            "regular" => ("Regular users", "Regelmäßige Nutzer"),
            "active_licensee_rate" => ("Active licensee rate", "Quote aktiver Lizenznehmer"),
            "modules_licensed" => ("Modules licensed", "Lizenzierte Module"),
            "modules_in_use" => ("Modules in use", "Genutzte Module"),
            "module_utilization" => ("Module utilization", "Modulauslastung"),
            "users_to_target" => ("Users to target", "Nutzer bis zum Ziel"),
            "success" => ("Success", "Erfolg"),
            "below_target" => ("Below target", "Unter dem Ziel"),
            // forecasts (labelled as such in every column)
            "measured_rate" => ("Measured", "Gemessen"),
            "target_rate" => ("Target rate", "Zielwert"),
            "forecast_status" => ("Forecast", "Prognose"),
            "forecast_pace_4_weeks" => ("Forecast pace, 4 weeks", "Prognosetempo, 4 Wochen"),
            "forecast_pace_8_weeks" => ("Forecast pace, 8 weeks", "Prognosetempo, 8 Wochen"),
            "forecast_pass_earliest" => (
                "Forecast: passed from (faster pace)",
                "Prognose: erreicht ab (schnelleres Tempo)",
            ),
            "forecast_pass_latest" => (
                "Forecast: passed from (slower pace)",
                "Prognose: erreicht ab (langsameres Tempo)",
            ),
            "target_week" => ("Target week", "Zielwoche"),
            "forecast_needed_per_week" => ("Forecast: needed per week", "Prognose: nötig je Woche"),
            "passing" => ("passing now", "bereits erreicht"),
            "on_track" => ("on track", "auf Kurs"),
            "at_risk" => ("at risk", "gefährdet"),
            "behind" => ("behind", "im Rückstand"),
            "rising" => ("rising", "steigend"),
            "not_rising" => ("not rising", "nicht steigend"),
            "too_little_history" => ("too little history", "zu wenig Verlauf"),
            "reference_wave" => ("Reference wave", "Referenzwelle"),
            "gap_to_reference" => ("Gap to the reference wave", "Abstand zur Referenzwelle"),
            "behind_reference" => ("Behind the reference wave", "Hinter der Referenzwelle"),
            "no_wave_more_than" => ("No wave is more than", "Keine Welle liegt mehr als"),
            "more_than" => ("More than", "Mehr als"),
            "behind_the_reference" => ("behind the reference wave", "hinter der Referenzwelle"),
            "points" => ("percentage points", "Prozentpunkte"),
            "since_go_live" => ("since go-live", "seit Go-live"),
            "forecast_title" => (
                "Forecast (not measured): the targets at the current pace, from",
                "Prognose (nicht gemessen): die Ziele im aktuellen Tempo, ab",
            ),
            "forecast_note" => (
                "A forecast, not a measured figure: the rate's straight-line pace over the last 4 and 8 weeks gives the range of weeks in which the target is passed; it assumes the licensees stay as they are.",
                "Eine Prognose, keine Messung: das lineare Tempo der Quote über die letzten 4 und 8 Wochen ergibt die Spanne der Wochen, in denen das Ziel erreicht wird; sie nimmt an, dass die Lizenznehmer bleiben, wie sie sind.",
            ),
            "module" => ("Module", "Modul"),
            "module_name" => ("Module name", "Modulname"),
            "monthly_cost_per_user" => ("Monthly cost per user", "Monatliche Kosten je Nutzer"),
            "module_users" => ("Module users", "Modulnutzer"),
            "module_adoption" => ("Module adoption", "Modulnutzung"),
            "in_use" => ("In use", "Genutzt"),
            "inactive_licensees" => ("Inactive licensees", "Inaktive Lizenznehmer"),
            "idle_license_cost" => (
                "Idle license cost per month",
                "Kosten ungenutzter Lizenzen pro Monat",
            ),
            "true" => ("yes", "ja"),
            // reports
            "reports" => ("Reports", "Berichte"),
            "audit_log" => ("Audit log", "Prüfprotokoll"),
            "sign_out" => ("Sign out", "Abmelden"),
            "sign_in" => ("Sign in", "Anmelden"),
            "user" => ("User", "Benutzer"),
            "password" => ("Password", "Passwort"),
            "wrong_password" => ("Wrong user or password.", "Benutzer oder Passwort falsch."),
            "locked_out" => (
                "Too many failed attempts; try again later.",
                "Zu viele Fehlversuche; bitte später erneut versuchen.",
            ),
            "too_many_sign_ins" => (
                "Too many failed sign-ins from this address; try again in 15 minutes.",
                "Zu viele fehlgeschlagene Anmeldungen von dieser Adresse; bitte in 15 Minuten erneut versuchen.",
            ),
            "form_expired" => (
                "This sign-in form has expired or came from another site; please sign in again.",
                "Dieses Anmeldeformular ist abgelaufen oder kam von einer anderen Seite; bitte erneut anmelden.",
            ),
            "busy" => (
                "Many sign-ins at once; please try again in a moment.",
                "Viele Anmeldungen gleichzeitig; bitte gleich erneut versuchen.",
            ),
            "pdf_reports" => (
                "PDF reports for these weeks",
                "PDF-Berichte für diese Wochen",
            ),
            "organisation" => ("The organisation", "Die Organisation"),
            "whole_organisation" => ("whole organisation", "gesamte Organisation"),
            "filter" => ("Filter", "Filter"),
            "breakdown" => ("Breakdown", "Aufschlüsselung"),
            "report_week" => ("Week", "Woche"),
            "compared_with" => ("Compared with", "Verglichen mit"),
            "vs" => ("vs.", "ggü."),
            "time_zone" => ("Time zone", "Zeitzone"),
            "generated" => ("Generated", "Erstellt"),
            "stored_events" => ("Events stored", "Gespeicherte Ereignisse"),
            "data_ends" => (
                "Stored events end before this week is over, so its figures may be incomplete: last event on",
                "Die gespeicherten Ereignisse enden vor dem Ende dieser Woche, die Zahlen können unvollständig sein: letztes Ereignis am",
            ),
            "summary" => ("Targets", "Ziele"),
            "by_breakdown" => ("By segment, week", "Nach Segment, Woche"),
            "highlights_since" => ("Targets passed since", "Ziele erreicht seit"),
            "no_highlights" => (
                "No segment passed a target since the previous report.",
                "Seit dem letzten Bericht hat kein Segment ein Ziel neu erreicht.",
            ),
            "trend_title" => (
                "Active licensee rate and module utilization",
                "Quote aktiver Lizenznehmer und Modulauslastung",
            ),
            "curve_title" => ("Adoption curve per wave", "Adoptionskurve je Welle"),
            "lagging_title" => ("Lagging segments, week", "Segmente unter dem Ziel, Woche"),
            "segments_suppressed" => (
                "segments are too small to be shown",
                "Segmente sind zu klein, um gezeigt zu werden",
            ),
            "modules_title" => ("Module adoption, week", "Modulnutzung, Woche"),
            "module_map_title" => (
                "Module adoption by segment, week",
                "Modulnutzung nach Segment, Woche",
            ),
            "page" => ("Page", "Seite"),
            "of" => ("of", "von"),
            "active_licensee_rate_genitive" => ("", "der Quote aktiver Lizenznehmer"),
            "module_utilization_genitive" => ("", "der Modulauslastung"),
            "false" => ("no", "nein"),
            _ => ("", ""),
        };
        match self {
            Lang::En => en,
            Lang::De => de,
        }
    }

    /// A label for a column name: its translation, else the name itself.
    pub fn label(self, key: &str) -> &str {
        match self.t(key) {
            "" => key,
            t => t,
        }
    }

    /// A decimal number with the language's decimal separator.
    pub fn decimal(self, s: &str) -> String {
        match self {
            Lang::En => s.to_string(),
            Lang::De => s.replace('.', ","),
        }
    }

    /// A table cell as shown to readers: rates as percentages, decimals
    /// and yes/no in the language, lists of figure names translated.
    pub fn cell(self, cell: &Cell) -> String {
        match cell {
            Cell::Rate(m) => self.percent(*m as f64 / 1e6),
            Cell::Money(_) => self.decimal(&Table::cell_text(cell)),
            Cell::Bool(b) => self.t(if *b { "true" } else { "false" }).to_string(),
            Cell::Text(s) if s.is_empty() => format!("({})", self.t("none")),
            Cell::Text(s) if s.contains(';') || s.contains('_') => s
                .split(';')
                .map(|p| self.label(p))
                .collect::<Vec<_>>()
                .join(", "),
            Cell::Empty => "–".to_string(),
            c => Table::cell_text(c),
        }
    }

    /// A segment as readers see it: its values joined by " / ", waves by
    /// name, an empty value as "(none)".
    pub fn segment(
        self,
        dims: &[String],
        values: &[String],
        waves: &[crate::model::Wave],
    ) -> String {
        values
            .iter()
            .zip(dims)
            .map(|(v, d)| {
                let cell = Cell::Text(v.clone());
                if d == "wave" {
                    crate::model::output::wave_name(&cell, waves)
                } else {
                    self.cell(&cell)
                }
            })
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// An amount of euros given in millionths, with cents.
    pub fn money(self, micros: i64) -> String {
        let cents = (micros as i128 + if micros >= 0 { 5_000 } else { -5_000 }) / 10_000;
        let sign = if cents < 0 { "-" } else { "" };
        let s = format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100);
        match self {
            Lang::En => format!("€{s}"),
            Lang::De => format!("{} €", s.replace('.', ",")),
        }
    }

    /// A rate (0..1) as a percentage with one decimal.
    pub fn percent(self, v: f64) -> String {
        let s = format!("{:.1}", v * 100.0);
        match self {
            Lang::En => format!("{s}%"),
            Lang::De => format!("{} %", s.replace('.', ",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_language_we_have() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        assert_eq!(Lang::negotiate(Some("de-DE,de;q=0.9,en;q=0.8")), Lang::De);
        assert_eq!(Lang::negotiate(Some("fr-FR,en;q=0.5,de;q=0.7")), Lang::De);
        assert_eq!(Lang::negotiate(Some("en-GB, de;q=0")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr")), Lang::En);
        assert_eq!(Lang::percent(Lang::De, 0.7512), "75,1 %");
    }
}
