//! `haihe decode`: frames as hex in, one JSON document per frame out.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context;
use model::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Protocol {
    Gbt32960,
    /// JT/T 808 (2011, 2013, 2019): one frame as sent, `7E … 7E`, still escaped.
    Jt808,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The protocol of the frames.
    #[arg(long, value_enum)]
    protocol: Protocol,
    /// Frames in hex; spaces and line breaks inside a frame are allowed. Without any, frames are
    /// read from stdin, one per line.
    hex: Vec<String>,
}

/// Decodes every frame, printing a JSON line for each good one and a one-line error on stderr
/// for each bad one; the exit code is non-zero if any frame was bad.
pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let frames: Vec<String> = if args.hex.is_empty() {
        let mut lines = Vec::new();
        for line in std::io::stdin().lock().lines() {
            let line = line.context("reading stdin")?;
            if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
                lines.push(line);
            }
        }
        lines
    } else {
        args.hex.clone()
    };
    let now = Timestamp::from_micros(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64),
    );
    let mut stdout = std::io::stdout().lock();
    let mut failed = 0usize;
    for (i, text) in frames.iter().enumerate() {
        match decode_one(args.protocol, text, now) {
            Ok(json) => writeln!(stdout, "{json}").context("writing stdout")?,
            Err(e) => {
                failed += 1;
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("frame {}: {e}", i + 1);
                }
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn decode_one(protocol: Protocol, text: &str, now: Timestamp) -> anyhow::Result<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = hex::decode(&compact).map_err(|e| anyhow::anyhow!("not hex: {e}"))?;
    match protocol {
        Protocol::Gbt32960 => {
            let frame = proto_gbt32960::decode(&bytes)?;
            Ok(proto_gbt32960::to_json(&frame, now).to_string())
        }
        Protocol::Jt808 => {
            // Strict: a frame a lenient terminal profile would accept is still reported here,
            // with the byte and field that break the standard.
            let frame = proto_jt808::decode(&bytes)?;
            let mut doc = proto_jt808::to_json(&frame);
            let reports = proto_jt808::to_reports(&frame, now);
            if !reports.is_empty() {
                doc["reports"] = serde_json::to_value(reports)?;
            }
            Ok(doc.to_string())
        }
    }
}
