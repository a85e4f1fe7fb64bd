//! One module per AWS service: the CloudFormation shape of each resource shipline creates,
//! built by constructors with safe defaults, and the `grant_*` methods through which a
//! [`crate::iam::Role`] gets exactly the access its use needs.
//!
//! Each handle (e.g. [`ecr::ImageRepository`]) knows its logical id and physical name; the
//! handles are cheap values that the composition in [`crate::pipeline`] passes around.

pub mod codebuild;
pub mod codepipeline;
pub mod connections;
pub mod ecr;
pub mod ecs;
pub mod events;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod s3;
pub mod secrets;
pub mod sns;
