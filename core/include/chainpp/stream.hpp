#pragma once
// Stream<T>: a pull-based range. Each step pulls the next item from its
// source (a socket, a parser, another stream) as the caller iterates;
// destroying the stream early releases the source (closing its connection).
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace chainpp {

template <class T>
class Stream {
public:
  /// Produces the next item, or nullopt at the end.
  using Next = std::function<std::optional<T>()>;

  Stream() = default;
  explicit Stream(Next next) : next_(std::move(next)) {}

  static Stream from_vector(std::vector<T> items) {
    auto state = std::make_shared<std::pair<std::vector<T>, std::size_t>>(std::move(items), 0);
    return Stream([state]() -> std::optional<T> {
      if (state->second >= state->first.size()) return std::nullopt;
      return std::move(state->first[state->second++]);
    });
  }

  /// The next item, or nullopt when the stream has ended.
  std::optional<T> next() {
    if (!next_) return std::nullopt;
    auto item = next_();
    if (!item) next_ = nullptr;  // release the source as soon as it ends
    return item;
  }

  /// Drains the stream into a vector.
  std::vector<T> collect() {
    std::vector<T> out;
    while (auto item = next()) out.push_back(std::move(*item));
    return out;
  }

  /// A stream of f(item) for each item.
  template <class F>
  auto map(F f) && {
    using U = std::invoke_result_t<F, T&&>;
    auto self = std::make_shared<Stream>(std::move(*this));
    return Stream<U>([self, f = std::move(f)]() mutable -> std::optional<U> {
      auto item = self->next();
      if (!item) return std::nullopt;
      return f(std::move(*item));
    });
  }

  class iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = T*;
    using reference = T&;

    iterator() = default;
    explicit iterator(Stream* s) : stream_(s) { ++*this; }
    T& operator*() { return *current_; }
    T* operator->() { return &*current_; }
    iterator& operator++() {
      current_ = stream_->next();
      if (!current_) stream_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(const iterator& o) const { return stream_ == o.stream_; }
    bool operator!=(const iterator& o) const { return stream_ != o.stream_; }

  private:
    Stream* stream_ = nullptr;
    std::optional<T> current_;
  };

  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

private:
  Next next_;
};

}  // namespace chainpp
