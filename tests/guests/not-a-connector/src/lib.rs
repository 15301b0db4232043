//! A valid component that is not a connector: it exports an unrelated interface.
wit_bindgen::generate!({
    inline: "
        package acme:widgets;

        interface greet {
            hello: func(name: string) -> string;
        }

        world widget {
            export greet;
        }
    ",
    world: "widget",
});

struct Widget;

impl exports::acme::widgets::greet::Guest for Widget {
    fn hello(name: String) -> String {
        format!("hello {name}")
    }
}

export!(Widget);
