# Los mensajes de la línea de órdenes a las personas (stderr y los
# títulos de la demo). Los mensajes de error, las listas y las tablas
# conservan sus palabras inglesas y los nombres de columna de SPEC.md.

events = { $count ->
        [one] { $count } evento
       *[other] { $count } eventos
    }

imported_waves = { $count ->
        [one] { $count } ola importada
       *[other] { $count } olas importadas
    }
imported_licensees = { $count ->
        [one] { $count } titular importado
       *[other] { $count } titulares importados
    }
imported_modules = { $count ->
        [one] { $count } módulo importado
       *[other] { $count } módulos importados
    }
imported_aliases = { $count ->
        [one] { $count } alias importado
       *[other] { $count } alias importados
    }
imported_events = { events } importados de { $files ->
        [one] { $files } archivo
       *[other] { $files } archivos
    }
registered_in_place = { events } registrados en { $files ->
        [one] { $files } archivo leído en su sitio
       *[other] { $files } archivos leídos en su sitio
    }
would_import_events = importaría { events } de { $files ->
        [one] { $files } archivo
       *[other] { $files } archivos
    } (no se guardó nada)
would_import_licensees = importaría { $count ->
        [one] { $count } titular
       *[other] { $count } titulares
    } con { $aliases } alias (no se guardó nada)
left_out_rows = { $count ->
        [one] se omitió { $count } fila rechazada
       *[other] se omitieron { $count } filas rechazadas
    }:
would_refuse_rows = rechazaría { $count ->
        [one] { $count } fila
       *[other] { $count } filas
    }:
skipped_file = se omitió { $file }: { $why }
copying_import_note = nota: una importación por copia comprueba y escribe cada fila en este proceso; el clúster en { $scheduler } se usa para --in-place, rebuild y las órdenes de indicadores

read_rows = { $count ->
        [one] { $count } fila leída
       *[other] { $count } filas leídas
    }
read_duplicates = { events } ya guardados o repetidos, guardados una vez
read_dropped = sin actividad: { $list }
read_unmapped = valores sin asignar: { $list }
read_unresolved = identificadores de nadie del directorio (guardados tal cual): { $list }

rebuilt_damaged_rollup = se reconstruyó el agregado dañado a partir de los eventos guardados
rebuilt_rollup = se reconstruyó el agregado a partir de { events } ({ $settings })
moved_to_quarantine = { $file } ({ events }) movido a cuarentena: { $why }
no_longer_counted = { $file } ({ events }, leído en su sitio) ya no se cuenta: { $why }; regístrelo de nuevo para contar lo que contiene ahora
stored_from_log = se guardaron { events } que quedaban en el registro de ingesta
only_listing = otro proceso (¿uptake serve?) escribe en el directorio de datos; solo se lista
no_damaged_files = ningún archivo dañado
no_events_on_cluster = aún no hay eventos: los indicadores se calculan aquí, no en el clúster

report_written = se escribió { $file } ({ $pages ->
        [one] { $pages } página
       *[other] { $pages } páginas
    }, { $bytes } bytes, { $ms } ms)
scheduled_from_now = { $report } programado: se ejecuta a partir de ahora
ran_run = se ejecutó { $run }
skipped_missed_runs = { $count ->
        [one] se omitió { $count } ejecución perdida
       *[other] se omitieron { $count } ejecuciones perdidas
    } (véase `uptake schedule status`)
deliveries = { $delivered ->
        [one] { $delivered } entrega
       *[other] { $delivered } entregas
    }, { $failed ->
        [one] { $failed } intento fallido
       *[other] { $failed } intentos fallidos
    }
alerts_checked = { $alerts ->
        [one] { $alerts } alerta comprobada
       *[other] { $alerts } alertas comprobadas
    }: { $fired } activadas, { $resolved } resueltas; { deliveries }
import_stored_alerts_failed = la importación está guardada; la comprobación de las alertas falló: { $error }

token_created = token { $detail } creado; solo se muestra ahora
token_revoked = { $name } revocado
password_generated = contraseña generada; solo se muestra ahora
user_added = usuario { $detail } añadido
password_set = contraseña de { $name } establecida
user_removed = { $name } eliminado

nobody_can_sign_in = nadie puede iniciar sesión todavía: añada un administrador con `uptake user add NAME --role admin`
serving = uptake sirve en { $url } (Ctrl-C para detener)
demo_sign_in = inicie sesión como usuario demo con la contraseña { $password }
demo_rollout = la implantación de demostración
demo_imported = { events } importados de { $from }, semanas { $first } a { $last } ({ $zone }).
demo_organisation = Toda la organización, últimas semanas:
demo_by_region = Por región, { $week }:
demo_lagging = Equipos rezagados, { $week }:
demo_directory = El directorio de datos de esta demo es { $dir }.
