# Kommandolinjens meddelelser til mennesker (stderr og demoens
# overskrifter). Fejlmeddelelser, lister og tabeller beholder deres
# engelske ord og kolonnenavnene fra SPEC.md.

events = { $count ->
        [one] { $count } hændelse
       *[other] { $count } hændelser
    }

imported_waves = importerede { $count ->
        [one] { $count } bølge
       *[other] { $count } bølger
    }
imported_licensees = importerede { $count ->
        [one] { $count } licenstager
       *[other] { $count } licenstagere
    }
imported_modules = importerede { $count ->
        [one] { $count } modul
       *[other] { $count } moduler
    }
imported_aliases = importerede { $count ->
        [one] { $count } alias
       *[other] { $count } aliaser
    }
imported_events = importerede { events } fra { $files ->
        [one] { $files } fil
       *[other] { $files } filer
    }
registered_in_place = registrerede { events } i { $files ->
        [one] { $files } fil læst på stedet
       *[other] { $files } filer læst på stedet
    }
would_import_events = ville importere { events } fra { $files ->
        [one] { $files } fil
       *[other] { $files } filer
    } (intet blev gemt)
would_import_licensees = ville importere { $count ->
        [one] { $count } licenstager
       *[other] { $count } licenstagere
    } med { $aliases ->
        [one] { $aliases } alias
       *[other] { $aliases } aliaser
    } (intet blev gemt)
left_out_rows = udelod { $count ->
        [one] { $count } afvist række
       *[other] { $count } afviste rækker
    }:
would_refuse_rows = ville afvise { $count ->
        [one] { $count } række
       *[other] { $count } rækker
    }:
skipped_file = sprang { $file } over: { $why }
copying_import_note = bemærk: en kopierende import kontrollerer og skriver hver række i denne proces; klyngen på { $scheduler } bruges af --in-place, rebuild og nøgletalskommandoerne

read_rows = læste { $count ->
        [one] { $count } række
       *[other] { $count } rækker
    }
read_duplicates = { events } allerede gemt eller gentaget, gemt én gang
read_dropped = ingen aktivitet: { $list }
read_unmapped = ikke-tilknyttede værdier: { $list }
read_unresolved = id'er, der ikke tilhører nogen i kataloget (gemt som de er): { $list }

rebuilt_damaged_rollup = genopbyggede det beskadigede rollup fra de gemte hændelser
rebuilt_rollup = genopbyggede rollup fra { events } ({ $settings })
moved_to_quarantine = flyttede { $file } ({ events }) i karantæne: { $why }
no_longer_counted = tæller ikke længere { $file } ({ events }, læst på stedet): { $why }; registrer den igen for at tælle, hvad den indeholder nu
stored_from_log = gemte { events }, der var tilbage i indlæsningsloggen
only_listing = en anden proces (uptake serve?) skriver i datamappen; viser kun
no_damaged_files = ingen beskadigede filer
no_events_on_cluster = ingen hændelser endnu: nøgletallene beregnes her, ikke på klyngen

report_written = skrev { $file } ({ $pages ->
        [one] { $pages } side
       *[other] { $pages } sider
    }, { $bytes } byte, { $ms } ms)
scheduled_from_now = planlagde { $report }: kører fra nu af
ran_run = kørte { $run }
skipped_missed_runs = sprang { $count ->
        [one] { $count } mistet kørsel
       *[other] { $count } mistede kørsler
    } over (se `uptake schedule status`)
deliveries = { $delivered ->
        [one] { $delivered } levering
       *[other] { $delivered } leveringer
    }, { $failed ->
        [one] { $failed } mislykket forsøg
       *[other] { $failed } mislykkede forsøg
    }
alerts_checked = kontrollerede { $alerts ->
        [one] { $alerts } alarm
       *[other] { $alerts } alarmer
    }: { $fired } udløst, { $resolved } løst; { deliveries }
import_stored_alerts_failed = importen er gemt; kontrollen af alarmerne mislykkedes: { $error }

token_created = oprettede token { $detail }; det vises kun nu
token_revoked = tilbagekaldte { $name }
password_generated = genererede en adgangskode; den vises kun nu
user_added = tilføjede bruger { $detail }
password_set = satte adgangskoden for { $name }
user_removed = fjernede { $name }

nobody_can_sign_in = ingen kan logge ind endnu: tilføj en administrator med `uptake user add NAME --role admin`
serving = uptake kører på { $url } (Ctrl-C stopper)
demo_sign_in = log ind som bruger demo med adgangskoden { $password }
demo_rollout = demo-udrulningen
demo_imported = Importerede { events } fra { $from }, uge { $first } til { $last } ({ $zone }).
demo_organisation = Hele organisationen, seneste uger:
demo_by_region = Efter region, { $week }:
demo_lagging = Teams bagud, { $week }:
demo_directory = Datamappen for denne demo er { $dir }.
