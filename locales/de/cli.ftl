# Die Meldungen der Kommandozeile an Menschen (stderr und die
# Überschriften der Demo). Fehlermeldungen, Listen und Tabellen behalten
# ihre englischen Wörter und die Spaltennamen von SPEC.md.

events = { $count ->
        [one] { $count } Ereignis
       *[other] { $count } Ereignisse
    }

imported_waves = { $count ->
        [one] { $count } Welle importiert
       *[other] { $count } Wellen importiert
    }
imported_licensees = { $count ->
        [one] { $count } Lizenznehmer importiert
       *[other] { $count } Lizenznehmer importiert
    }
imported_modules = { $count ->
        [one] { $count } Modul importiert
       *[other] { $count } Module importiert
    }
imported_aliases = { $count ->
        [one] { $count } Alias importiert
       *[other] { $count } Aliasse importiert
    }
imported_events = { events } aus { $files ->
        [one] { $files } Datei
       *[other] { $files } Dateien
    } importiert
registered_in_place = { events } in { $files ->
        [one] { $files } an Ort und Stelle gelesenen Datei
       *[other] { $files } an Ort und Stelle gelesenen Dateien
    } registriert
would_import_events = würde { events } aus { $files ->
        [one] { $files } Datei
       *[other] { $files } Dateien
    } importieren (nichts wurde gespeichert)
would_import_licensees = würde { $count } Lizenznehmer mit { $aliases ->
        [one] { $aliases } Alias
       *[other] { $aliases } Aliassen
    } importieren (nichts wurde gespeichert)
left_out_rows = { $count ->
        [one] { $count } abgewiesene Zeile ausgelassen
       *[other] { $count } abgewiesene Zeilen ausgelassen
    }:
would_refuse_rows = würde { $count ->
        [one] { $count } Zeile
       *[other] { $count } Zeilen
    } abweisen:
skipped_file = { $file } übersprungen: { $why }
copying_import_note = Hinweis: ein kopierender Import prüft und schreibt jede Zeile in diesem Prozess; der Cluster unter { $scheduler } dient --in-place, rebuild und den Kennzahlenbefehlen

read_rows = { $count ->
        [one] { $count } Zeile gelesen
       *[other] { $count } Zeilen gelesen
    }
read_duplicates = { events } schon gespeichert oder wiederholt, einmal gespeichert
read_dropped = keine Aktivität: { $list }
read_unmapped = nicht zugeordnete Werte: { $list }
read_unresolved = IDs, die niemandem im Verzeichnis gehören (so gespeichert, wie sie sind): { $list }

rebuilt_damaged_rollup = den beschädigten Rollup aus den gespeicherten Ereignissen neu aufgebaut
rebuilt_rollup = den Rollup aus { events } neu aufgebaut ({ $settings })
moved_to_quarantine = { $file } ({ events }) in Quarantäne verschoben: { $why }
no_longer_counted = { $file } ({ events }, an Ort und Stelle gelesen) zählt nicht mehr: { $why }; registrieren Sie die Datei erneut, um zu zählen, was sie jetzt enthält
stored_from_log = { events } aus dem Ingestion-Log gespeichert
only_listing = ein anderer Prozess (uptake serve?) schreibt das Datenverzeichnis; nur Auflistung
no_damaged_files = keine beschädigten Dateien
no_events_on_cluster = noch keine Ereignisse: die Kennzahlen werden hier berechnet, nicht auf dem Cluster

report_written = { $file } geschrieben ({ $pages ->
        [one] { $pages } Seite
       *[other] { $pages } Seiten
    }, { $bytes } Bytes, { $ms } ms)
scheduled_from_now = { $report } geplant: läuft ab jetzt
ran_run = { $run } ausgeführt
skipped_missed_runs = { $count ->
        [one] { $count } verpasster Lauf übersprungen
       *[other] { $count } verpasste Läufe übersprungen
    } (siehe `uptake schedule status`)
deliveries = { $delivered ->
        [one] { $delivered } Zustellung
       *[other] { $delivered } Zustellungen
    }, { $failed ->
        [one] { $failed } fehlgeschlagener Versuch
       *[other] { $failed } fehlgeschlagene Versuche
    }
alerts_checked = { $alerts ->
        [one] { $alerts } Alarm geprüft
       *[other] { $alerts } Alarme geprüft
    }: { $fired } ausgelöst, { $resolved } aufgehoben; { deliveries }
import_stored_alerts_failed = der Import ist gespeichert; die Prüfung der Alarme schlug fehl: { $error }

token_created = Token { $detail } erstellt; es wird nur jetzt angezeigt
token_revoked = { $name } widerrufen
password_generated = ein Passwort erzeugt; es wird nur jetzt angezeigt
user_added = Benutzer { $detail } hinzugefügt
password_set = das Passwort von { $name } gesetzt
user_removed = { $name } entfernt

nobody_can_sign_in = noch kann sich niemand anmelden: legen Sie einen Admin an mit `uptake user add NAME --role admin`
serving = uptake ist erreichbar unter { $url } (Strg-C beendet)
demo_sign_in = melden Sie sich als Benutzer demo mit dem Passwort { $password } an
demo_rollout = der Demo-Einführung
demo_imported = { events } aus { $from } importiert, Wochen { $first } bis { $last } ({ $zone }).
demo_organisation = Gesamte Organisation, letzte Wochen:
demo_by_region = Nach Region, { $week }:
demo_lagging = Teams im Rückstand, { $week }:
demo_directory = Das Datenverzeichnis dieser Demo ist { $dir }.
