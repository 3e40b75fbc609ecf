//! `dicom list-tags FILE [--private]`.

use std::path::PathBuf;

use clap::Args;

use super::{blocking, listing, out_err};
use crate::cli::Context;
use crate::core::Result;
use crate::services::dicom::inspect;

/// Arguments of `dicom list-tags`.
#[derive(Debug, Args)]
pub struct ListTagsArgs {
    /// The DICOM file
    pub file: PathBuf,
    /// Also list private elements
    #[arg(long)]
    pub private: bool,
}

/// List the file's elements (before the pixel data) as tag, VR, keyword and value rows.
pub async fn run(args: ListTagsArgs, ctx: &Context) -> Result<()> {
    let title = format!("Tags in {}", args.file.display());
    let rows = blocking(ctx, move |_| inspect::list_tags(&args.file, args.private)).await?;
    let cols = [
        ("tag", "Tag"),
        ("vr", "VR"),
        ("name", "Name"),
        ("value", "Value"),
    ];
    let mut l = listing(&rows, &cols, "tag")?;
    l.title = Some(title);
    ctx.out().list(&l).map_err(out_err)
}
