//! Tests of the settings and the config file.

use super::*;
use inventory_core::reorder::ReorderRule;

use crate::service::channel_shopify::Secret;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|arg| (*arg).to_owned()).collect()
}

#[test]
fn flags_win_over_the_environment_which_wins_over_defaults() {
    let none = |_: &str| None;
    let defaults = Settings::from_args(args(&[]), none).unwrap();
    assert_eq!(defaults.db, DB_DEFAULT);
    assert_eq!(defaults.addr.to_string(), ADDR_DEFAULT);
    assert!(defaults.config.shopify_webhook_secret.is_none());

    let env = |name: &str| match name {
        "INVENTORY_DB" => Some("postgres://db/shop".to_owned()),
        "INVENTORY_ADDR" => Some("0.0.0.0:9000".to_owned()),
        "SHOPIFY_WEBHOOK_SECRET" => Some("from-env".to_owned()),
        _ => None,
    };
    let from_env = Settings::from_args(args(&[]), env).unwrap();
    assert!(from_env.is_postgres());
    assert_eq!(from_env.addr.to_string(), "0.0.0.0:9000");
    assert_eq!(
        from_env.config.shopify_webhook_secret.as_deref(),
        Some("from-env")
    );

    let flags =
        Settings::from_args(args(&["--db", "shop.db", "--addr", "127.0.0.1:1"]), env).unwrap();
    assert_eq!((flags.db.as_str(), flags.is_postgres()), ("shop.db", false));
    let url = Settings::from_args(args(&["--db", "sqlite://data/shop.db"]), none).unwrap();
    assert_eq!(url.db, "data/shop.db");
    assert_eq!(flags.addr.port(), 1);
}

#[test]
fn bad_flags_and_addresses_are_refused() {
    let none = |_: &str| None;
    for bad in [&["--port", "1"][..], &["--db"], &["--addr", "localhost"]] {
        assert!(Settings::from_args(args(bad), none).is_err(), "{bad:?}");
    }
}

#[test]
fn the_file_secret_wins_over_the_environment() {
    let path = std::env::temp_dir().join(format!("service-{}.toml", std::process::id()));
    std::fs::write(&path, "shopify_webhook_secret = \"file\"\n").unwrap();
    let env = |name: &str| (name == "SHOPIFY_WEBHOOK_SECRET").then(|| "env".to_owned());
    let flags = args(&["--config", path.to_str().unwrap()]);
    let settings = Settings::from_args(flags, env);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        settings.unwrap().config.shopify_webhook_secret.as_deref(),
        Some("file")
    );
    let missing = args(&["--config", "/nonexistent/service.toml"]);
    assert!(matches!(
        Settings::from_args(missing, |_: &str| None),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn the_example_file_is_valid() {
    let shipped = include_str!("../../../service.toml");
    let config = ServiceConfig::parse(shipped).unwrap();
    assert!(
        config.channels.is_empty(),
        "a first run pushes nowhere that nothing listens"
    );
    // Its channel examples are settings commented out with a bare '#': they parse.
    let uncommented: String = shipped
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(rest) if !rest.starts_with([' ', '#']) => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        ServiceConfig::parse(&uncommented).unwrap().channels.len(),
        2
    );
    assert_eq!(config.suppliers[0].links().unwrap().len(), 2);
    assert_eq!(config.counting.capacity, Some(40));
}

#[test]
fn channels_become_policies() {
    let config = ServiceConfig::parse(
        "[[channels]]\nname = \"shopify\"\nbuffer = 0.90\nwebhook = \"http://x/stock\"\n\
         safety_units = 2\ncap = 100\nlocations = [\"main\"]\n",
    )
    .unwrap();
    let policy = config.channels[0].policy().unwrap();
    assert_eq!(policy.terms.buffer.get(), 9_000);
    assert_eq!(
        (policy.terms.safety_units, policy.terms.cap),
        (2, Some(100))
    );
    assert_eq!(policy.locations.map(|set| set.len()), Some(1));
}

#[test]
fn a_shopify_channel_takes_its_token_from_the_environment() {
    let path = std::env::temp_dir().join(format!("shopify-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[[channels]]\nname = \"shop\"\nbuffer = 0.9\n[channels.shopify]\n\
         shop = \"my-store.myshopify.com\"\nlocation_id = \"123\"\n\
         access_token_env = \"SHOP_TOKEN\"\n",
    )
    .unwrap();
    let flags = args(&["--config", path.to_str().unwrap()]);
    let env = |name: &str| (name == "SHOP_TOKEN").then(|| "shpat_x".to_owned());
    let settings = Settings::from_args(flags.clone(), env).unwrap();
    let without = Settings::from_args(flags, |_: &str| None).unwrap();
    std::fs::remove_file(&path).unwrap();
    let shopify = settings.config.channels[0].shopify.as_ref().unwrap();
    assert_eq!(
        shopify.access_token.as_ref().map(Secret::expose),
        Some("shpat_x")
    );
    assert!(!format!("{:?}", settings.config).contains("shpat_x"));
    assert_eq!(
        shopify.location_gid().unwrap(),
        "gid://shopify/Location/123"
    );
    assert!(without.config.channels[0]
        .shopify
        .as_ref()
        .unwrap()
        .access_token
        .is_none());
}

#[test]
fn a_channel_needs_exactly_one_target() {
    for text in [
        "[[channels]]\nname = \"a\"\nbuffer = 0.5",
        "[[channels]]\nname = \"a\"\nbuffer = 0.5\nwebhook = \"http://x\"\n\
         [channels.shopify]\nshop = \"s.myshopify.com\"\nlocation_id = \"1\"",
        "[[channels]]\nname = \"a\"\nbuffer = 0.5\n[channels.shopify]\nlocation_id = \"1\"",
        "[[channels]]\nname = \"a\"\nbuffer = 0.5\n[channels.shopify]\n\
         shop = \"s.myshopify.com\"\nlocation_id = \"main\"",
        "[[channels]]\nname = \"a\"\nbuffer = 0.5\n[channels.shopify]\n\
         shop = \"s.myshopify.com\"\nlocation_id = \"1\"\ntimeout_seconds = 0",
        "[[channels]]\nname = \"a\"\nbuffer = 0.5\n[channels.shopify]\n\
         shop = \"s.myshopify.com\"\nlocation_id = \"1\"\napi_key = \"x\"",
    ] {
        assert!(ServiceConfig::parse(text).is_err(), "{text}");
    }
}

/// Buffers go through the core's exact decimal parser: every share the file can write
/// with four places is that many basis points, and a fifth place is refused.
#[test]
fn buffers_are_exact_decimals() {
    for (text, points) in [
        ("0", 0),
        ("0.0001", 1),
        ("0.57", 5_700),
        ("0.2857", 2_857),
        ("1.0", 10_000),
    ] {
        let config = ServiceConfig::parse(&format!(
            "[[channels]]\nname = \"a\"\nbuffer = {text}\nwebhook = \"http://x\""
        ))
        .unwrap();
        assert_eq!(
            config.channels[0].policy().unwrap().terms.buffer.get(),
            points,
            "{text}"
        );
    }
    for text in ["0.00001", "1.0001", "-0.5"] {
        let parsed = ServiceConfig::parse(&format!(
            "[[channels]]\nname = \"a\"\nbuffer = {text}\nwebhook = \"http://x\""
        ));
        assert!(parsed.is_err(), "{text}");
    }
}

#[test]
fn bad_values_are_refused_with_their_reason() {
    let cases = [
        "[[channels]]\nname = \"a\"\nbuffer = 1.5\nwebhook = \"http://x\"",
        "[[channels]]\nname = \"a\"\nbuffer = 0.12345\nwebhook = \"http://x\"",
        "[[channels]]\nname = \"a\"\nbuffer = 0.5\nwebhook = \"http://x\"\nsafety_units = -1",
        "[[suppliers]]\nid = \"acme\"\nlead_time_days = 0",
        "[[suppliers]]\nid = \"acme\"\nlead_time_days = 3\n[[suppliers.skus]]\nsku = \"A\"\nunit_cost = \"cheap\"",
        "[[suppliers]]\nid = \"acme\"\nlead_time_days = 3\n[[suppliers.skus]]\nsku = \"A\"\nunit_cost = \"1\"\nservice_level = 1.5",
        "default_ttl_seconds = 0",
        "unknown_setting = 1",
        "[counting]\nstart = \"not a date\"",
    ];
    for text in cases {
        assert!(ServiceConfig::parse(text).is_err(), "{text}");
    }
}

#[test]
fn suppliers_become_links_with_rules() {
    let config = ServiceConfig::parse(
        "[[suppliers]]\nid = \"acme\"\nlead_time_days = 14\ncase_pack = 12\n\
         [[suppliers.skus]]\nsku = \"TEE\"\nunit_cost = \"4.10\"\nreorder_point = 20\n\
         [[suppliers.skus]]\nsku = \"MUG\"\nunit_cost = \"2.35\"\n",
    )
    .unwrap();
    let supplier = &config.suppliers[0];
    assert_eq!(supplier.supplier().unwrap().case_pack, 12);
    let links = supplier.links().unwrap();
    assert!(matches!(
        links[0].rule,
        ReorderRule::Static {
            point: 20,
            quantity: None
        }
    ));
    assert!(matches!(
        links[1].rule,
        ReorderRule::Dynamic { review_days: 7, .. }
    ));
    assert_eq!(links[1].unit_cost.to_string(), "2.35");
}
