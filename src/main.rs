use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = uptake::cli::Cli::parse();
    // The server logs each request; other commands only warnings.
    let default = match cli.command {
        uptake::cli::Command::Serve(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("UPTAKE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if std::env::var("UPTAKE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(uptake::cli::run(cli));
    if std::env::var_os("UPTAKE_REPORT_PEAK_MEMORY").is_some() {
        eprintln!("peak_memory_kib={}", uptake::bench::peak_memory_kib());
    }
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    Ok(())
}
