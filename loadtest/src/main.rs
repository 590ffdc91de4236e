//! `switchboard-load run|merge|scenarios`: the command line of the load generator.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use loadtest::report::{self, RunResult, Threshold};
use loadtest::run::{Target, run};
use loadtest::scenario::{InboundPath, Millis, Scenario, Stage};

/// The scenarios built in (also `loadtest/scenarios/*.toml`).
const BUILT_IN: [(&str, &str); 5] = [
    ("smoke", include_str!("../scenarios/smoke.toml")),
    ("steady", include_str!("../scenarios/steady.toml")),
    ("burst", include_str!("../scenarios/burst.toml")),
    ("soak", include_str!("../scenarios/soak.toml")),
    (
        "agents-heavy",
        include_str!("../scenarios/agents-heavy.toml"),
    ),
];

#[derive(Parser)]
#[command(
    name = "switchboard-load",
    version,
    about = "Load generator for Switchboard: customers, agents and the SMS provider, with verdicts on what was lost"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a scenario against a Switchboard.
    Run(Box<RunArgs>),
    /// Merges the JSON results of several generators (`--shard i/n`) into one.
    Merge {
        /// The results, as written by `run --out json=FILE`.
        files: Vec<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Lists the built-in scenarios.
    Scenarios,
}

#[derive(clap::Args)]
struct Output {
    /// `json` (stdout), `json=FILE` or `csv=FILE`; may repeat.
    #[arg(long = "out")]
    out: Vec<String>,
    /// A pass condition such as `ack.p99<5ms` or `lost==0`; may repeat. A crossed threshold
    /// exits with 99.
    #[arg(long = "threshold")]
    thresholds: Vec<Threshold>,
}

#[derive(clap::Args)]
struct RunArgs {
    /// A built-in scenario's name (`switchboard-load scenarios`) or a TOML file.
    #[arg(long, default_value = "steady")]
    scenario: String,
    /// The server.
    #[arg(long, env = "SWITCHBOARD_URL", default_value = "http://127.0.0.1:8080")]
    target: String,
    /// Its admin token.
    #[arg(long, env = "SWITCHBOARD_ADMIN_TOKEN")]
    admin_token: String,
    /// Replaces the scenario's stages (`30s:500`); may repeat.
    #[arg(long = "stage")]
    stages: Vec<Stage>,
    /// Distinct customers.
    #[arg(long)]
    customers: Option<u32>,
    /// Queues (one number each).
    #[arg(long)]
    queues: Option<u32>,
    /// Agents (desktops on websockets).
    #[arg(long)]
    agents: Option<u32>,
    /// Conversations per agent.
    #[arg(long)]
    capacity: Option<u32>,
    /// Offers accepted, percent.
    #[arg(long)]
    accept_percent: Option<f64>,
    /// Think time before answering an offer, `MIN..MAX` ms.
    #[arg(long)]
    think_before_accept_ms: Option<Millis>,
    /// Think time before each reply, `MIN..MAX` ms.
    #[arg(long)]
    think_before_reply_ms: Option<Millis>,
    /// What each desktop's websocket follows: `own` work or the whole `team`.
    #[arg(long, value_parser = follow)]
    follow: Option<protocol::vocabulary::Follow>,
    /// How customers' texts arrive.
    #[arg(long, value_enum)]
    inbound: Option<InboundPath>,
    /// Seconds the agents keep working after the last stage.
    #[arg(long)]
    drain: Option<u64>,
    /// Makes the run's choices reproducible.
    #[arg(long)]
    seed: Option<u64>,
    /// This generator's share of the customers, `i/n` (0-based).
    #[arg(long, default_value = "0/1", value_parser = shard)]
    shard: (u32, u32),
    /// Leave the run's teams, queues, numbers and agents on the server.
    #[arg(long)]
    keep: bool,
    /// Where the generator's provider listens.
    #[arg(long, default_value = "127.0.0.1:0")]
    provider_bind: String,
    /// The provider's URL as the server reaches it (when the server is on another host).
    #[arg(long)]
    provider_url: Option<String>,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
    /// Plants a fault in the generator's records (the run must then fail): proves the
    /// verdicts catch what they claim to.
    #[arg(long = "inject-fault", value_enum)]
    faults: Vec<loadtest::run::Fault>,
    #[command(flatten)]
    output: Output,
}

fn follow(text: &str) -> Result<protocol::vocabulary::Follow, String> {
    match text {
        "own" => Ok(protocol::vocabulary::Follow::Own),
        "team" => Ok(protocol::vocabulary::Follow::Team),
        _ => Err("own or team".into()),
    }
}

fn shard(text: &str) -> Result<(u32, u32), String> {
    let (i, n) = text.split_once('/').ok_or("a shard is i/n, e.g. 0/2")?;
    let (i, n): (u32, u32) = (
        i.parse().map_err(|_| "a shard is i/n")?,
        n.parse().map_err(|_| "a shard is i/n")?,
    );
    if n == 0 || i >= n || n > 64 {
        return Err("a shard is i/n with 0 <= i < n <= 64".into());
    }
    Ok((i, n))
}

fn scenario(args: &RunArgs) -> Result<Scenario, String> {
    let text = match BUILT_IN.iter().find(|(name, _)| *name == args.scenario) {
        Some((_, text)) => (*text).to_owned(),
        None => std::fs::read_to_string(&args.scenario)
            .map_err(|e| format!("scenario {:?}: not built in, and {e}", args.scenario))?,
    };
    let mut s =
        Scenario::from_toml(&text).map_err(|e| format!("scenario {}: {e}", args.scenario))?;
    if !args.stages.is_empty() {
        s.stages = args.stages.clone();
    }
    if let Some(v) = args.customers {
        s.customers.count = v;
    }
    if let Some(v) = args.queues {
        s.queues = v;
    }
    if let Some(v) = args.agents {
        s.agents.count = v;
    }
    if let Some(v) = args.capacity {
        s.agents.capacity = v;
    }
    if let Some(v) = args.accept_percent {
        s.agents.accept_percent = v;
    }
    if let Some(v) = args.think_before_accept_ms {
        s.agents.think_before_accept_ms = v;
    }
    if let Some(v) = args.follow {
        s.agents.follow = v;
    }
    if let Some(v) = args.think_before_reply_ms {
        s.agents.think_before_reply_ms = v;
    }
    if let Some(v) = args.inbound {
        s.customers.inbound = v;
    }
    if let Some(v) = args.drain {
        s.drain_secs = v;
    }
    if let Some(v) = args.seed {
        s.seed = v;
    }
    s.check()?;
    Ok(s)
}

/// Writes the outputs and judges the thresholds; the exit code.
fn finish(result: &RunResult, output: &Output) -> ExitCode {
    eprintln!("{}", result.table());
    for out in &output.out {
        let written = match out.split_once('=') {
            None if out == "json" => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(result).expect("results serialise")
                );
                Ok(())
            }
            Some(("json", path)) => std::fs::write(
                path,
                serde_json::to_string_pretty(result).expect("results serialise"),
            ),
            Some(("csv", path)) => std::fs::write(path, result.csv()),
            _ => {
                eprintln!("--out {out:?}: expected json, json=FILE or csv=FILE");
                return ExitCode::from(2);
            }
        };
        if let Err(e) = written {
            eprintln!("--out {out}: {e}");
            return ExitCode::from(2);
        }
    }
    for line in report::threshold_lines(result, &output.thresholds) {
        eprintln!("{line}");
    }
    ExitCode::from(report::exit_code(result, &output.thresholds))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scenarios => {
            for (name, text) in BUILT_IN {
                let summary = text
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches('#')
                    .trim();
                println!("{name:<14} {summary}");
            }
            ExitCode::SUCCESS
        }
        Command::Merge { files, output } => {
            let mut results = Vec::new();
            for file in &files {
                let parsed = std::fs::read_to_string(file)
                    .map_err(|e| e.to_string())
                    .and_then(|t| serde_json::from_str::<RunResult>(&t).map_err(|e| e.to_string()));
                match parsed {
                    Ok(result) => results.push(result),
                    Err(e) => {
                        eprintln!("{file}: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            finish(&RunResult::merge(&results), &output)
        }
        Command::Run(args) => {
            let scenario = match scenario(&args) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let target = Target {
                url: args.target.clone(),
                admin_token: args.admin_token.clone(),
                provider_bind: args.provider_bind.clone(),
                provider_url: args.provider_url.clone(),
                shard: args.shard,
                keep: args.keep,
                progress: !args.quiet,
                faults: args.faults.clone(),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            match runtime.block_on(run(&scenario, &target)) {
                Ok(result) => finish(&result, &args.output),
                Err(e) => {
                    eprintln!("switchboard-load: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
