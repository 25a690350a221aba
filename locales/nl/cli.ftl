# De meldingen van de opdrachtregel aan mensen (stderr en de koppen van
# de demo). Foutmeldingen, lijsten en tabellen houden hun Engelse woorden
# en de kolomnamen van SPEC.md.

events = { $count ->
        [one] { $count } gebeurtenis
       *[other] { $count } gebeurtenissen
    }

imported_waves = { $count ->
        [one] { $count } golf geïmporteerd
       *[other] { $count } golven geïmporteerd
    }
imported_licensees = { $count ->
        [one] { $count } licentiehouder geïmporteerd
       *[other] { $count } licentiehouders geïmporteerd
    }
imported_modules = { $count ->
        [one] { $count } module geïmporteerd
       *[other] { $count } modules geïmporteerd
    }
imported_aliases = { $count ->
        [one] { $count } alias geïmporteerd
       *[other] { $count } aliassen geïmporteerd
    }
imported_events = { events } geïmporteerd uit { $files ->
        [one] { $files } bestand
       *[other] { $files } bestanden
    }
registered_in_place = { events } geregistreerd in { $files ->
        [one] { $files } ter plaatse gelezen bestand
       *[other] { $files } ter plaatse gelezen bestanden
    }
would_import_events = zou { events } importeren uit { $files ->
        [one] { $files } bestand
       *[other] { $files } bestanden
    } (er is niets opgeslagen)
would_import_licensees = zou { $count ->
        [one] { $count } licentiehouder
       *[other] { $count } licentiehouders
    } met { $aliases ->
        [one] { $aliases } alias
       *[other] { $aliases } aliassen
    } importeren (er is niets opgeslagen)
left_out_rows = { $count ->
        [one] { $count } geweigerde rij weggelaten
       *[other] { $count } geweigerde rijen weggelaten
    }:
would_refuse_rows = zou { $count ->
        [one] { $count } rij
       *[other] { $count } rijen
    } weigeren:
skipped_file = { $file } overgeslagen: { $why }
copying_import_note = let op: een kopiërende import controleert en schrijft elke rij in dit proces; het cluster op { $scheduler } wordt gebruikt door --in-place, rebuild en de kengetallenopdrachten

read_rows = { $count ->
        [one] { $count } rij gelezen
       *[other] { $count } rijen gelezen
    }
read_duplicates = { events } al opgeslagen of herhaald, één keer opgeslagen
read_dropped = geen activiteit: { $list }
read_unmapped = niet-toegewezen waarden: { $list }
read_unresolved = id's van niemand in de directory (opgeslagen zoals ze zijn): { $list }

rebuilt_damaged_rollup = de beschadigde rollup opnieuw opgebouwd uit de opgeslagen gebeurtenissen
rebuilt_rollup = de rollup opnieuw opgebouwd uit { events } ({ $settings })
moved_to_quarantine = { $file } ({ events }) naar quarantaine verplaatst: { $why }
no_longer_counted = { $file } ({ events }, ter plaatse gelezen) telt niet meer mee: { $why }; registreer het opnieuw om te tellen wat het nu bevat
stored_from_log = { events } opgeslagen die in het innamelogboek waren achtergebleven
only_listing = een ander proces (uptake serve?) schrijft in de gegevensmap; alleen een overzicht
no_damaged_files = geen beschadigde bestanden
no_events_on_cluster = nog geen gebeurtenissen: de kengetallen worden hier berekend, niet op het cluster

report_written = { $file } geschreven ({ $pages ->
        [one] { $pages } pagina
       *[other] { $pages } pagina's
    }, { $bytes } bytes, { $ms } ms)
scheduled_from_now = { $report } gepland: loopt vanaf nu
ran_run = { $run } uitgevoerd
skipped_missed_runs = { $count ->
        [one] { $count } gemiste run overgeslagen
       *[other] { $count } gemiste runs overgeslagen
    } (zie `uptake schedule status`)
deliveries = { $delivered ->
        [one] { $delivered } bezorging
       *[other] { $delivered } bezorgingen
    }, { $failed ->
        [one] { $failed } mislukte poging
       *[other] { $failed } mislukte pogingen
    }
alerts_checked = { $alerts ->
        [one] { $alerts } waarschuwing gecontroleerd
       *[other] { $alerts } waarschuwingen gecontroleerd
    }: { $fired } afgegaan, { $resolved } opgelost; { deliveries }
import_stored_alerts_failed = de import is opgeslagen; het controleren van de waarschuwingen is mislukt: { $error }

token_created = token { $detail } aangemaakt; het wordt alleen nu getoond
token_revoked = { $name } ingetrokken
password_generated = een wachtwoord gegenereerd; het wordt alleen nu getoond
user_added = gebruiker { $detail } toegevoegd
password_set = het wachtwoord van { $name } ingesteld
user_removed = { $name } verwijderd

nobody_can_sign_in = nog niemand kan zich aanmelden: voeg een beheerder toe met `uptake user add NAME --role admin`
serving = uptake draait op { $url } (Ctrl-C stopt)
demo_sign_in = meld je aan als gebruiker demo met wachtwoord { $password }
demo_rollout = de demo-uitrol
demo_imported = { events } geïmporteerd uit { $from }, weken { $first } tot { $last } ({ $zone }).
demo_organisation = Hele organisatie, laatste weken:
demo_by_region = Per regio, { $week }:
demo_lagging = Achterblijvende teams, { $week }:
demo_directory = De gegevensmap van deze demo is { $dir }.
