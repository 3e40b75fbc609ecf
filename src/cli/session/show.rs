//! `session show`: one session with its scans, session resources and shares.

use clap::Args;
use serde_json::{Map, Value};

use super::{listing, print_json, SessionRef};
use crate::cli::Context;
use crate::core::output::{Listing, OutputFormat, Record};
use crate::core::Result;
use crate::services::experiments::{self, text};
use crate::services::sessions;

/// `session show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub session: SessionRef,
}

fn pick(rows: &[Map<String, Value>], cols: &[(&str, &str, &str)]) -> Vec<Map<String, Value>> {
    rows.iter()
        .map(|r| {
            cols.iter()
                .map(|(key, src, _)| (key.to_string(), Value::String(text(r, src))))
                .collect()
        })
        .collect()
}

fn section(
    title: String,
    rows: Vec<Map<String, Value>>,
    cols: &[(&str, &str, &str)],
    id: &str,
) -> Listing {
    Listing {
        columns: cols
            .iter()
            .map(|(k, _, l)| crate::core::output::Column::new(*k, *l))
            .collect(),
        rows,
        id_field: id.into(),
        title: Some(title),
    }
}

/// Run `session show`.
pub async fn run(args: ShowArgs, ctx: &Context) -> Result<()> {
    let project = ctx.project_or_default(args.session.project.as_deref());
    let client = ctx.client().await?;
    let e = experiments::resolve(client, project.as_deref(), &args.session.experiment).await?;
    let d = sessions::show(client, &e).await?;
    let opts = ctx.output_options().clone();
    if opts.quiet {
        return ctx.out().ids([d.id.clone()]);
    }
    if opts.format == OutputFormat::Json {
        return print_json(ctx, &d);
    }
    let mut rec = Record::new();
    for (k, l, v) in [
        ("id", "ID", Some(d.id.clone())),
        ("label", "Label", Some(d.label.clone())),
        ("subject", "Subject", d.subject.clone()),
        ("project", "Project", d.project.clone()),
        ("date", "Date", d.date.clone()),
        ("xsi_type", "Type", d.xsi_type.clone()),
    ] {
        rec.insert(k, v.map(Value::String).unwrap_or(Value::Null));
        rec.label(k, l);
    }
    rec.title = Some(format!("[Session: {}]", d.label));
    let scan_cols = [
        ("id", "ID", "ID"),
        ("type", "type", "Type"),
        ("series", "series_description", "Series"),
        ("quality", "quality", "Quality"),
        ("frames", "frames", "Frames"),
    ];
    let res_cols = [
        ("label", "label", "Label"),
        ("format", "format", "Format"),
        ("count", "file_count", "Files"),
        ("size", "file_size", "Size"),
    ];
    let scans = section(
        format!("[Scans ({})]", d.scans.len()),
        pick(&d.scans, &scan_cols),
        &scan_cols,
        "id",
    );
    let resources = section(
        format!("[Resources ({})]", d.resources.len()),
        pick(&d.resources, &res_cols),
        &res_cols,
        "label",
    );
    let mut shares = listing(
        &d.shared_projects,
        &[("project", "Project"), ("label", "Label there")],
        "project",
    )?;
    shares.title = Some(format!("[Shared into ({})]", d.shared_projects.len()));
    let mut out = ctx.out();
    out.record(&rec)?;
    for l in [&scans, &resources, &shares] {
        out.line("")?;
        if opts.format == OutputFormat::Table && l.rows.is_empty() {
            out.line(l.title.as_deref().unwrap_or_default())?;
        } else if opts.format == OutputFormat::Tsv {
            let mut untitled = l.clone();
            untitled.title = None;
            out.list(&untitled)?;
        } else {
            out.list(l)?;
        }
    }
    Ok(())
}
