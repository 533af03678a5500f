#include "common/random.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace webhooks {

namespace {

void FillFromKernel(char* out, size_t n) {
  size_t filled = 0;
  while (filled < n) {
    ssize_t got = getrandom(out + filled, n - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::abort();  // The kernel's generator failing is not recoverable.
    }
    filled += static_cast<size_t>(got);
  }
}

// Bytes of the kernel's generator fetched ahead, per thread, so that small
// requests (ids: 10 bytes each) do not cost a system call apiece. Each byte
// is handed out once.
struct RandomBuffer {
  static constexpr size_t kSize = 4096;
  char bytes[kSize];
  size_t used = kSize;
};

}  // namespace

std::string SecureRandom::Bytes(size_t n) {
  std::string out(n, '\0');
  if (n > RandomBuffer::kSize / 8) {
    FillFromKernel(out.data(), n);
    return out;
  }
  thread_local RandomBuffer buffer;
  size_t filled = 0;
  while (filled < n) {
    if (buffer.used == RandomBuffer::kSize) {
      FillFromKernel(buffer.bytes, RandomBuffer::kSize);
      buffer.used = 0;
    }
    const size_t take = std::min(n - filled, RandomBuffer::kSize - buffer.used);
    std::memcpy(out.data() + filled, buffer.bytes + buffer.used, take);
    // Handed out: not kept in memory longer than needed.
    std::memset(buffer.bytes + buffer.used, 0, take);
    buffer.used += take;
    filled += take;
  }
  return out;
}

std::string SeededRandom::Bytes(size_t n) {
  absl::MutexLock lock(&mu_);
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int i = 0; i < 8 && out.size() < n; ++i) {
      out.push_back(static_cast<char>((z >> (8 * i)) & 0xff));
    }
  }
  return out;
}

namespace {

// A random source of zero bytes: the lowest id of a millisecond.
class ZeroRandom final : public RandomSource {
 public:
  std::string Bytes(size_t n) override { return std::string(n, '\0'); }
};

}  // namespace

std::string IdTimeFloor(std::string_view prefix, int64_t unix_millis) {
  ZeroRandom zero;
  return NewId(prefix, unix_millis, zero);
}

namespace {

constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr size_t kIdChars = 26;

// kAlphabet's inverse; 0xff for characters not in it.
struct Base32Values {
  unsigned char value[256];
  constexpr Base32Values() : value() {
    for (unsigned char& v : value) v = 0xff;
    for (unsigned char i = 0; i < 32; ++i) {
      value[static_cast<unsigned char>(kAlphabet[i])] = i;
    }
  }
};
constexpr Base32Values kValues;

}  // namespace

std::optional<int64_t> IdTimeMillis(std::string_view prefix,
                                    std::string_view id) {
  if (id.size() != prefix.size() + kIdChars ||
      id.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  // 26 characters of 5 bits hold 2 zero bits, then the 48-bit time: the
  // first 10 characters (50 bits) hold exactly the zero bits and the time.
  uint64_t bits = 0;
  unsigned char any_bad = 0;
  for (size_t c = 0; c < kIdChars; ++c) {
    const unsigned char v =
        kValues.value[static_cast<unsigned char>(id[prefix.size() + c])];
    any_bad |= v & 0xe0;  // 0xff has bits above the low five
    if (c < 10) bits = (bits << 5) | (v & 0x1f);
  }
  if (any_bad != 0 || (bits >> 48) != 0) return std::nullopt;
  return static_cast<int64_t>(bits);
}

namespace {

// `prefix` and the 128 bits high:low as 26 base32 characters (130 bits, the
// top 2 zero), five bits at a time.
std::string EncodeId(std::string_view prefix, uint64_t high, uint64_t low) {
  __extension__ using Bits = unsigned __int128;
  const Bits bits = (static_cast<Bits>(high) << 64) | low;
  std::string out;
  out.reserve(prefix.size() + kIdChars);
  out.append(prefix);
  // Character c holds bits [129 - 5c, 125 - 5c]; bits 129 and 128 are zero.
  for (int c = 0; c < static_cast<int>(kIdChars); ++c) {
    out.push_back(kAlphabet[static_cast<unsigned>(bits >> (125 - 5 * c)) & 31]);
  }
  return out;
}

uint64_t BigEndian(std::string_view bytes) {
  uint64_t value = 0;
  for (char b : bytes) value = (value << 8) | static_cast<unsigned char>(b);
  return value;
}

uint64_t TimeBits(int64_t unix_millis) {
  return static_cast<uint64_t>(unix_millis) & ((uint64_t{1} << 48) - 1);
}

}  // namespace

std::string NewId(std::string_view prefix, int64_t unix_millis,
                  RandomSource& random) {
  // 128 bits: the 48-bit time, then 80 random bits.
  const std::string tail = random.Bytes(10);
  // Bits 127..64: the time, then 16 random bits; 63..0: 64 random bits.
  return EncodeId(prefix,
                  TimeBits(unix_millis) << 16 |
                      BigEndian(std::string_view(tail).substr(0, 2)),
                  BigEndian(std::string_view(tail).substr(2)));
}

std::string NewTaggedId(std::string_view prefix, int64_t unix_millis,
                        uint16_t tag, RandomSource& random) {
  const std::string tail = random.Bytes(8);
  return EncodeId(prefix, TimeBits(unix_millis) << 16 | tag, BigEndian(tail));
}

std::optional<uint16_t> IdTag(std::string_view prefix, std::string_view id) {
  if (!IdTimeMillis(prefix, id).has_value()) return std::nullopt;
  // Characters 10 to 13 hold bits 79..60: the tag is their top 16.
  uint64_t bits = 0;
  for (size_t c = 10; c < 14; ++c) {
    bits = (bits << 5) |
           kValues.value[static_cast<unsigned char>(id[prefix.size() + c])];
  }
  return static_cast<uint16_t>(bits >> 4);
}

}  // namespace webhooks
