//! A connector built for `switchboard:connector@9.0.0`, which this host does not support.
wit_bindgen::generate!({
    inline: "
        package switchboard:connector@9.0.0;

        interface connector {
            manifest: func() -> string;
        }

        world plugin {
            export connector;
        }
    ",
    world: "plugin",
});

struct Future;

impl exports::switchboard::connector::connector::Guest for Future {
    fn manifest() -> String {
        "from the future".into()
    }
}

export!(Future);
