#!/usr/bin/env python3
"""The pymodbus reference server of the live-mode benchmark (issue 3).

    python3 pymodbus_server.py IP PORT

pymodbus 3.11's asyncio Modbus TCP server (the standard event loop, as pymodbus ships) on
one device context: 16 coils, 16 discrete inputs, 16 input registers and 64 holding
registers, holding register i holding i, like the benchmark PLC and the libmodbus server.
It answers any unit id. IP must be a loopback address.
"""

import asyncio
import ipaddress
import signal
import sys

import pymodbus
from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusSequentialDataBlock,
    ModbusServerContext,
)
from pymodbus.server import ModbusTcpServer

HOLDING_REGISTERS = 64


def datastore() -> ModbusServerContext:
    # pymodbus's device context adds one to every protocol address before it reaches the
    # block, so blocks start at 1 for protocol address 0.
    device = ModbusDeviceContext(
        co=ModbusSequentialDataBlock(1, [False] * 16),
        di=ModbusSequentialDataBlock(1, [False] * 16),
        ir=ModbusSequentialDataBlock(1, [0] * 16),
        hr=ModbusSequentialDataBlock(1, list(range(HOLDING_REGISTERS))),
    )
    return ModbusServerContext(devices=device, single=True)


async def serve(ip: str, port: int) -> None:
    server = ModbusTcpServer(datastore(), address=(ip, port))
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    task = asyncio.create_task(server.serve_forever())
    # serve_forever() binds first; report once the port accepts connections.
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection(ip, port)
            writer.close()
            break
        except OSError:
            if task.done():
                task.result()  # raises the bind error
            await asyncio.sleep(0.025)
    else:
        raise SystemExit(f"pymodbus_server: {ip}:{port} never accepted a connection")
    print(f"pymodbus_server: pymodbus {pymodbus.__version__} listening on {ip}:{port}", flush=True)
    await stopping.wait()
    await server.shutdown()
    task.cancel()


def main() -> int:
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} IP PORT", file=sys.stderr)
        return 2
    ip, port = sys.argv[1], int(sys.argv[2])
    if not ipaddress.ip_address(ip).is_loopback:
        print(f"pymodbus_server: need a 127.0.0.0/8 address, got {ip}", file=sys.stderr)
        return 2
    asyncio.run(serve(ip, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
