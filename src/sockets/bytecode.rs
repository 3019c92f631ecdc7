//! The inet_diag filter program that lets the kernel drop sockets outside the
//! asked ports before they are copied to us (what `ss 'sport = :P'` sends).
//!
//! No crate builds this program, so it is written here. The format is the
//! kernel's `struct inet_diag_bc_op { u8 code; u8 yes; u16 no; }`, run by
//! `inet_diag_bc_run()` in net/ipv4/inet_diag.c: after each op the program
//! advances by `yes` bytes when the condition holds and by `no` bytes when it
//! does not; the socket is accepted when the program ends exactly at its
//! length and rejected when a jump lands 4 bytes past it. A port comparison
//! takes a second op whose `no` field holds the port. `inet_diag_bc_audit()`
//! walks the `yes` chain, so every `yes` is the op's own length.

use crate::target::PortRange;

const BC_JMP: u8 = 1;
const BC_S_GE: u8 = 2;
const BC_S_LE: u8 = 3;

const OP_LEN: u16 = 4;
const PORT_OP_LEN: u16 = 8;

/// A program accepting sockets whose local port is in any of `ranges`.
/// Empty `ranges` gives an empty program (no filter).
pub fn local_port_filter(ranges: &[PortRange]) -> Vec<u8> {
    let ranges = merged(ranges);
    if ranges.is_empty() {
        return Vec::new();
    }
    // Each range is `GE low; LE high`, and every range but the last ends in
    // a JMP to the end (accept) so that a match skips the ranges after it.
    let block_len = |last: bool| 2 * PORT_OP_LEN + if last { 0 } else { OP_LEN };
    let total: u16 = ranges
        .iter()
        .enumerate()
        .map(|(i, _)| block_len(i + 1 == ranges.len()))
        .sum();

    let mut program = Vec::with_capacity(usize::from(total));
    let mut offset: u16 = 0;
    for (i, range) in ranges.iter().enumerate() {
        let last = i + 1 == ranges.len();
        let block_end = offset + block_len(last);
        // On a failed comparison go to the next range, or past the end
        // (reject) after the last one.
        let fail_target = if last { total + OP_LEN } else { block_end };

        push_op(&mut program, BC_S_GE, PORT_OP_LEN, fail_target - offset);
        push_op(&mut program, 0, 0, range.low);
        offset += PORT_OP_LEN;

        push_op(&mut program, BC_S_LE, PORT_OP_LEN, fail_target - offset);
        push_op(&mut program, 0, 0, range.high);
        offset += PORT_OP_LEN;

        if !last {
            // JMP always takes `no`: straight to the end, accepting.
            push_op(&mut program, BC_JMP, OP_LEN, total - offset);
            offset += OP_LEN;
        }
    }
    program
}

fn push_op(program: &mut Vec<u8>, code: u8, yes: u16, no: u16) {
    program.push(code);
    // `yes` is a u8 in the kernel's struct; every value used here fits.
    program.push(u8::try_from(yes).unwrap_or(u8::MAX));
    program.extend_from_slice(&no.to_ne_bytes());
}

/// Sorted, overlapping and adjacent ranges joined, so the program stays
/// short (and within the u16 offsets) however many targets were given.
fn merged(ranges: &[PortRange]) -> Vec<PortRange> {
    let mut sorted = ranges.to_vec();
    sorted.sort();
    let mut out: Vec<PortRange> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match out.last_mut() {
            Some(previous) if u32::from(range.low) <= u32::from(previous.high) + 1 => {
                previous.high = previous.high.max(range.high);
            }
            _ => out.push(range),
        }
    }
    out
}

/// Runs a program as the kernel does; used by the tests to check that the
/// programs built here accept exactly the ports asked for.
#[cfg(test)]
fn run(program: &[u8], port: u16) -> bool {
    let mut pc: i64 = 0;
    let len = i64::try_from(program.len()).expect("short program");
    while pc < len {
        let at = usize::try_from(pc).expect("in range");
        let code = program[at];
        let yes = i64::from(program[at + 1]);
        let no = i64::from(u16::from_ne_bytes([program[at + 2], program[at + 3]]));
        let operand = || u16::from_ne_bytes([program[at + 6], program[at + 7]]);
        let holds = match code {
            BC_JMP => false,
            BC_S_GE => port >= operand(),
            BC_S_LE => port <= operand(),
            other => panic!("unexpected op {other}"),
        };
        pc += if holds { yes } else { no };
    }
    pc == len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(low: u16, high: u16) -> PortRange {
        PortRange { low, high }
    }

    #[test]
    fn empty_ranges_build_no_program() {
        assert!(local_port_filter(&[]).is_empty());
    }

    #[test]
    fn one_port_accepts_only_that_port() {
        let program = local_port_filter(&[PortRange::single(8000)]);
        assert!(run(&program, 8000));
        assert!(!run(&program, 7999));
        assert!(!run(&program, 8001));
    }

    #[test]
    fn several_ranges_accept_their_union() {
        let ranges = [
            r(20, 22),
            PortRange::single(80),
            r(8000, 8100),
            r(8050, 8200),
        ];
        let program = local_port_filter(&ranges);
        for port in [1u16, 19, 23, 79, 81, 7999, 8201, 65535] {
            assert!(!run(&program, port), "{port} should be rejected");
        }
        for port in [20u16, 21, 22, 80, 8000, 8100, 8150, 8200] {
            assert!(run(&program, port), "{port} should be accepted");
        }
    }

    #[test]
    fn jumps_stay_aligned_and_in_bounds() {
        let program = local_port_filter(&[r(1, 2), r(10, 20), r(30, 40)]);
        assert_eq!(program.len() % 4, 0);
        let len = program.len();
        let mut at = 0;
        while at < len {
            let yes = usize::from(program[at + 1]);
            let no = usize::from(u16::from_ne_bytes([program[at + 2], program[at + 3]]));
            assert_eq!(no % 4, 0);
            assert!(no <= len - at + 4);
            at += yes;
        }
    }

    #[test]
    fn adjacent_ranges_merge() {
        assert_eq!(merged(&[r(5, 6), r(1, 4), r(8, 9)]), vec![r(1, 6), r(8, 9)]);
    }
}
