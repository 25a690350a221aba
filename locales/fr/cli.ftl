# Les messages de la ligne de commande aux personnes (stderr et les titres
# de la démo). Les messages d’erreur, les listes et les tableaux gardent
# leurs mots anglais et les noms de colonnes de SPEC.md.

events = { $count ->
        [one] { $count } événement
       *[other] { $count } événements
    }

imported_waves = { $count ->
        [one] { $count } vague importée
       *[other] { $count } vagues importées
    }
imported_licensees = { $count ->
        [one] { $count } titulaire importé
       *[other] { $count } titulaires importés
    }
imported_modules = { $count ->
        [one] { $count } module importé
       *[other] { $count } modules importés
    }
imported_aliases = { $count ->
        [one] { $count } alias importé
       *[other] { $count } alias importés
    }
imported_events = { events } importés depuis { $files ->
        [one] { $files } fichier
       *[other] { $files } fichiers
    }
registered_in_place = { events } enregistrés dans { $files ->
        [one] { $files } fichier lu sur place
       *[other] { $files } fichiers lus sur place
    }
would_import_events = importerait { events } depuis { $files ->
        [one] { $files } fichier
       *[other] { $files } fichiers
    } (rien n’a été enregistré)
would_import_licensees = importerait { $count ->
        [one] { $count } titulaire
       *[other] { $count } titulaires
    } avec { $aliases } alias (rien n’a été enregistré)
left_out_rows = { $count ->
        [one] { $count } ligne refusée laissée de côté
       *[other] { $count } lignes refusées laissées de côté
    } :
would_refuse_rows = refuserait { $count ->
        [one] { $count } ligne
       *[other] { $count } lignes
    } :
skipped_file = { $file } ignoré : { $why }
copying_import_note = remarque : un import par copie vérifie et écrit chaque ligne dans ce processus ; le cluster { $scheduler } sert à --in-place, rebuild et aux commandes des indicateurs

read_rows = { $count ->
        [one] { $count } ligne lue
       *[other] { $count } lignes lues
    }
read_duplicates = { events } déjà enregistrés ou répétés, enregistrés une fois
read_dropped = sans activité : { $list }
read_unmapped = valeurs non associées : { $list }
read_unresolved = identifiants de personne de l’annuaire (enregistrés tels quels) : { $list }

rebuilt_damaged_rollup = l’agrégat endommagé a été reconstruit à partir des événements enregistrés
rebuilt_rollup = agrégat reconstruit à partir de { events } ({ $settings })
moved_to_quarantine = { $file } ({ events }) mis en quarantaine : { $why }
no_longer_counted = { $file } ({ events }, lu sur place) n’est plus compté : { $why } ; enregistrez-le de nouveau pour compter ce qu’il contient maintenant
stored_from_log = { events } restés dans le journal d’ingestion enregistrés
only_listing = un autre processus (uptake serve ?) écrit dans le répertoire de données ; simple liste
no_damaged_files = aucun fichier endommagé
no_events_on_cluster = pas encore d’événements : les indicateurs sont calculés ici, pas sur le cluster

report_written = { $file } écrit ({ $pages ->
        [one] { $pages } page
       *[other] { $pages } pages
    }, { $bytes } octets, { $ms } ms)
scheduled_from_now = { $report } planifié : s’exécute à partir de maintenant
ran_run = { $run } exécuté
skipped_missed_runs = { $count ->
        [one] { $count } exécution manquée ignorée
       *[other] { $count } exécutions manquées ignorées
    } (voir `uptake schedule status`)
deliveries = { $delivered ->
        [one] { $delivered } envoi
       *[other] { $delivered } envois
    }, { $failed ->
        [one] { $failed } tentative échouée
       *[other] { $failed } tentatives échouées
    }
alerts_checked = { $alerts ->
        [one] { $alerts } alerte vérifiée
       *[other] { $alerts } alertes vérifiées
    } : { $fired } déclenchées, { $resolved } résolues ; { deliveries }
import_stored_alerts_failed = l’import est enregistré ; la vérification des alertes a échoué : { $error }

token_created = jeton { $detail } créé ; il n’est affiché que maintenant
token_revoked = { $name } révoqué
password_generated = mot de passe généré ; il n’est affiché que maintenant
user_added = utilisateur { $detail } ajouté
password_set = mot de passe de { $name } défini
user_removed = { $name } supprimé

nobody_can_sign_in = personne ne peut encore se connecter : ajoutez un administrateur avec `uptake user add NAME --role admin`
serving = uptake est servi sur { $url } (Ctrl-C pour arrêter)
demo_sign_in = connectez-vous en tant qu’utilisateur demo avec le mot de passe { $password }
demo_rollout = le déploiement de démonstration
demo_imported = { events } importés depuis { $from }, semaines { $first } à { $last } ({ $zone }).
demo_organisation = Toute l’organisation, dernières semaines :
demo_by_region = Par région, { $week } :
demo_lagging = Équipes en retard, { $week } :
demo_directory = Le répertoire de données de cette démo est { $dir }.
