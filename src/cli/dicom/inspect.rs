//! `dicom inspect FILE [-t KEYWORD ...] [--private]`.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value};

use super::{blocking, listing, out_err};
use crate::cli::Context;
use crate::core::output::{OutputFormat, Record};
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
    if opts.format == OutputFormat::Tsv && !opts.quiet {
        let cols = [("keyword", "Keyword"), ("value", "Value")];
        return ctx
            .out()
            .list(&listing(&fields, &cols, "keyword")?)
            .map_err(out_err);
    }
    let mut map = Map::new();
    for f in &fields {
        map.insert(
            f.keyword.clone(),
            f.value.clone().map_or(Value::Null, Value::String),
        );
    }
    if opts.format == OutputFormat::Json || opts.quiet {
        let mut record = Record::from_map(map);
        record.id_field = Some("SOPInstanceUID".into());
        return ctx.out().record(&record).map_err(out_err);
    }
    let mut text = format!("File: {file}\n{}", "-".repeat(60));
    for f in &fields {
        let value = f.value.as_deref().unwrap_or("(not found)");
        text.push_str(&format!("\n{}: {value}", f.keyword));
    }
    ctx.out().line(&text).map_err(out_err)
}
