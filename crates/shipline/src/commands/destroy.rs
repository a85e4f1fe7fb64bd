//! `shipline destroy`: delete the stack after confirmation; the repository and bucket are kept
//! with their contents unless `--delete-data`, which removes them after the stack.

use super::{Aws, Failure, Output};
use crate::cloudformation::ops;
use crate::printer::Printer;
use crate::retained::{DataKind, DataStores};

pub async fn run(delete_data: bool, aws: &Aws, printer: &Printer) -> Result<Output, Failure> {
    aws.announce(
        printer,
        &format!("deleting stack {} from", aws.session.stack),
    )
    .await?;
    let stores = delete_data.then(|| DataStores::new(&aws.sdk));
    let destroyed = ops::destroy(&aws.session, printer, stores.as_ref()).await?;
    if !destroyed.existed {
        let line = format!(
            "stack {} does not exist; nothing to delete",
            destroyed.stack
        );
        return Ok(Output::new(&destroyed, vec![line]));
    }
    let mut lines = vec![format!("stack {}: deleted", destroyed.stack)];
    for kept in &destroyed.kept {
        lines.push(format!(
            "  kept {} {} with its contents; to remove it: {}",
            kept.resource.kind.describe(),
            kept.resource.id,
            kept.remove_with
        ));
    }
    for deleted in &destroyed.deleted {
        let items = match deleted.resource.kind {
            DataKind::EcrRepository => "image(s)",
            DataKind::S3Bucket => "object version(s) and delete marker(s)",
        };
        lines.push(format!(
            "  deleted {} {} with {} {items}",
            deleted.resource.kind.describe(),
            deleted.resource.id,
            deleted.items
        ));
    }
    Ok(Output::new(&destroyed, lines))
}
