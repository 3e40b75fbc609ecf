//! `dicom list-tags FILE [--private]`.

use std::path::PathBuf;

use clap::Args;

use super::blocking;
use crate::cli::Context;
use crate::core::output::{listing_of, ListControls};
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
    let mut listing = listing_of(&rows, &ListControls::default())?;
    listing.title = Some(title);
    ctx.out().list(&listing)
}
