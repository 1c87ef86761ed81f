//! The kernel's linear memory, as host functions see it.

/// A guest address range lies (partly) outside the memory: the host call returns -6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBounds;

/// Byte access to a kernel's memory. Addresses are the kernel's `i32` pointers read as unsigned;
/// a range is valid when it lies entirely inside the memory (an empty range at the very end is
/// valid, past it is not).
pub trait GuestMemory {
    /// The memory size in bytes.
    fn size(&self) -> u64;
    /// Copies `buf.len()` bytes from `addr`.
    fn read(&self, addr: u32, buf: &mut [u8]) -> Result<(), OutOfBounds>;
    /// Copies `data` to `addr`.
    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), OutOfBounds>;

    /// Whether `[addr, addr + len)` lies inside the memory.
    fn contains(&self, addr: u32, len: u64) -> bool {
        u64::from(addr) + len <= self.size()
    }

    /// `len` bytes from `addr`, copied out.
    fn read_vec(&self, addr: u32, len: u32) -> Result<Vec<u8>, OutOfBounds> {
        if !self.contains(addr, u64::from(len)) {
            return Err(OutOfBounds);
        }
        let mut buf = vec![0u8; len as usize];
        self.read(addr, &mut buf)?;
        Ok(buf)
    }
}

/// A memory backed by a vector: for tests, and for the SDK's mock host, which stages the
/// arguments of each call in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VecMemory(pub Vec<u8>);

impl GuestMemory for VecMemory {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn read(&self, addr: u32, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        let start = addr as usize;
        let src = self.0.get(start..start.checked_add(buf.len()).ok_or(OutOfBounds)?).ok_or(OutOfBounds)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), OutOfBounds> {
        let start = addr as usize;
        let dst = self.0.get_mut(start..start.checked_add(data.len()).ok_or(OutOfBounds)?).ok_or(OutOfBounds)?;
        dst.copy_from_slice(data);
        Ok(())
    }
}
