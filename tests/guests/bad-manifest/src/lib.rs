//! Declares a manifest the host must refuse: an id with spaces and capitals, a version that is
//! not semantic, no channels and no capabilities.
use switchboard_sdk::prelude::*;

struct BadManifest;

impl Connector for BadManifest {
    fn manifest() -> Manifest {
        Manifest::new("Bad Id!", "one", "")
    }
}

export_connector!(BadManifest);
