//! Modbus byte codec and a PLC request round trip: the per-message cost every simulated
//! poll, attack frame and live-mode request pays.
//!
//! `cargo bench --bench modbus`

use criterion::{Criterion, criterion_group, criterion_main};
use otrange_sim::devices::modbus::{ModbusDeviceConfig, ModbusServer, ServerReply};
use otrange_sim::wire::modbus::{decode_response, read_holding_registers, write_single_register};
use std::hint::black_box;

const DEVICE: &str = r#"
unit_ids = [1]
coils = 64
discrete_inputs = 64
input_registers = 64
holding_registers = 64
capacity_rps = 1000000000
burst = 1000000000
[identity]
vendor = "otrange"
product_code = "bench"
revision = "1.0"
"#;

fn server() -> ModbusServer {
    let cfg = ModbusDeviceConfig::from_toml_str(DEVICE).expect("bench device config");
    ModbusServer::from_config(&cfg).expect("bench device")
}

fn codec(c: &mut Criterion) {
    c.bench_function("encode FC3 read 10 holding registers", |b| {
        b.iter(|| read_holding_registers(black_box(7), 1, black_box(0), 10));
    });
    let mut s = server();
    let ServerReply::Respond(reply) = s.handle_adu(&read_holding_registers(7, 1, 0, 10), 0).reply else {
        panic!("the bench device must answer");
    };
    c.bench_function("decode FC3 response with 10 registers", |b| {
        b.iter(|| decode_response(black_box(&reply)).expect("valid response"));
    });
}

fn round_trip(c: &mut Criterion) {
    let mut s = server();
    let mut now = 0u64;
    c.bench_function(
        "PLC round trip: FC3 read 10 registers (encode, serve, decode)",
        |b| {
            b.iter(|| {
                now += 1_000;
                let req = read_holding_registers(1, 1, 0, 10);
                let ServerReply::Respond(reply) = s.handle_adu(black_box(&req), now).reply else {
                    panic!("the bench device must answer");
                };
                decode_response(&reply).expect("valid response")
            });
        },
    );
    c.bench_function("PLC round trip: FC6 write single register", |b| {
        b.iter(|| {
            now += 1_000;
            let req = write_single_register(1, 1, 3, black_box(1234));
            let ServerReply::Respond(reply) = s.handle_adu(&req, now).reply else {
                panic!("the bench device must answer");
            };
            decode_response(&reply).expect("valid response")
        });
    });
}

criterion_group!(benches, codec, round_trip);
criterion_main!(benches);
