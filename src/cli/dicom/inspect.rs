//! `dicom inspect FILE [-t KEYWORD ...] [--private]`.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value};

use super::blocking;
use crate::cli::Context;
use crate::core::output::{ListControls, OutputFormat, Record};
use crate::core::Result;
use crate::services::dicom::inspect;

/// Arguments of `dicom inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The DICOM file
    pub file: PathBuf,
    /// Show only these attributes (standard keywords, e.g. PatientID); repeatable
    #[arg(short = 't', long = "tag", value_name = "KEYWORD")]
    pub tags: Vec<String>,
    /// Also show private elements
    #[arg(long)]
    pub private: bool,
}

/// Inspect one file: a keyword → value object (JSON), `Key: value` lines (table), rows (TSV).
pub async fn run(args: InspectArgs, ctx: &Context) -> Result<()> {
    inspect::check_keywords(&args.tags)?;
    let file = args.file.display().to_string();
    let fields = blocking(ctx, move |_| {
        inspect::inspect(&args.file, &args.tags, args.private)
    })
    .await?;
    let opts = ctx.output_options().clone();
    match opts.format {
        OutputFormat::Tsv if !opts.quiet => ctx.out().rows(&fields, &ListControls::default()),
        OutputFormat::Table if !opts.quiet => {
            let mut text = format!("File: {file}\n{}", "-".repeat(60));
            for f in &fields {
                let value = f.value.as_deref().unwrap_or("(not found)");
                text.push_str(&format!("\n{}: {value}", f.keyword));
            }
            ctx.out().line(&text)
        }
        // JSON is one object, keyword → value, as the reference prints it.
        _ => {
            let map: Map<String, Value> = fields
                .into_iter()
                .map(|f| (f.keyword, f.value.map_or(Value::Null, Value::String)))
                .collect();
            let mut record = Record::from_map(map);
            record.id_field = Some("SOPInstanceUID".into());
            ctx.out().record(&record)
        }
    }
}
