# The command line's messages to people (stderr, and the demo's
# headings). Error messages, listings (tab separated) and tables keep
# their English words and SPEC.md's column names: scripts read them.

events = { $count ->
        [one] { $count } event
       *[other] { $count } events
    }

imported_waves = imported { $count ->
        [one] { $count } wave
       *[other] { $count } waves
    }
imported_licensees = imported { $count ->
        [one] { $count } licensee
       *[other] { $count } licensees
    }
imported_modules = imported { $count ->
        [one] { $count } module
       *[other] { $count } modules
    }
imported_aliases = imported { $count ->
        [one] { $count } alias
       *[other] { $count } aliases
    }
imported_events = imported { events } from { $files ->
        [one] { $files } file
       *[other] { $files } files
    }
registered_in_place = registered { events } in { $files ->
        [one] { $files } file
       *[other] { $files } files
    } read in place
would_import_events = would import { events } from { $files ->
        [one] { $files } file
       *[other] { $files } files
    } (nothing was stored)
would_import_licensees = would import { $count ->
        [one] { $count } licensee
       *[other] { $count } licensees
    } with { $aliases ->
        [one] { $aliases } alias
       *[other] { $aliases } aliases
    } (nothing was stored)
left_out_rows = left out { $count ->
        [one] { $count } refused row
       *[other] { $count } refused rows
    }:
would_refuse_rows = would refuse { $count ->
        [one] { $count } row
       *[other] { $count } rows
    }:
skipped_file = skipped { $file }: { $why }
copying_import_note = note: a copying import checks and writes every row in this process; the cluster at { $scheduler } is used by --in-place, rebuild and the figures commands

read_rows = read { $count ->
        [one] { $count } row
       *[other] { $count } rows
    }
read_duplicates = { events } already stored or repeated, stored once
read_dropped = no activity: { $list }
read_unmapped = unmapped values: { $list }
read_unresolved = ids of nobody in the directory (stored as they are): { $list }

rebuilt_damaged_rollup = rebuilt the damaged rollup from the stored events
rebuilt_rollup = rebuilt the rollup from { events } ({ $settings })
moved_to_quarantine = moved { $file } ({ events }) to quarantine: { $why }
no_longer_counted = no longer counts { $file } ({ events }) read in place: { $why }; register it again to count what it holds now
stored_from_log = stored { events } left in the ingestion log
only_listing = another process (uptake serve?) writes the data directory; only listing
no_damaged_files = no damaged files
no_events_on_cluster = no events yet: the figures are computed here, not on the cluster

report_written = wrote { $file } ({ $pages ->
        [one] { $pages } page
       *[other] { $pages } pages
    }, { $bytes } bytes, { $ms } ms)
scheduled_from_now = scheduled { $report }: runs from now on
ran_run = ran { $run }
skipped_missed_runs = skipped { $count ->
        [one] { $count } missed run
       *[other] { $count } missed runs
    } (see `uptake schedule status`)
deliveries = { $delivered ->
        [one] { $delivered } delivery
       *[other] { $delivered } deliveries
    }, { $failed ->
        [one] { $failed } failed attempt
       *[other] { $failed } failed attempts
    }
alerts_checked = checked { $alerts ->
        [one] { $alerts } alert
       *[other] { $alerts } alerts
    }: { $fired } fired, { $resolved } resolved; { deliveries }
import_stored_alerts_failed = the import is stored; checking the alerts failed: { $error }

token_created = created token { $detail }; it is shown only now
token_revoked = revoked { $name }
password_generated = generated a password; it is shown only now
user_added = added user { $detail }
password_set = set the password of { $name }
user_removed = removed { $name }

nobody_can_sign_in = nobody can sign in yet: add an admin with `uptake user add NAME --role admin`
serving = uptake serves { $url } (Ctrl-C stops)
demo_sign_in = sign in as user demo with password { $password }
demo_rollout = the demo rollout
demo_imported = Imported { events } from { $from }, weeks { $first } to { $last } ({ $zone }).
demo_organisation = Whole organisation, last weeks:
demo_by_region = By region, { $week }:
demo_lagging = Lagging teams, { $week }:
demo_directory = The data directory of this demo is { $dir }.
