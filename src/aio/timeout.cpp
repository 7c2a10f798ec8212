#include <weft/timeout.hpp>

namespace weft {

timeout_scope::timeout_scope(event_loop::duration delay) : owner_(detail::running_task) {
    if (!owner_) throw invalid_state_error("weft::timeout() used outside a running weft task");
    outer = owner_->deadlines;
    owner_->deadlines = this;
    event_loop* loop = owner_->loop();
    loop->arm(this, loop->time() + delay);
}

timeout_scope::~timeout_scope() {
    if (armed()) owner_->loop()->disarm(this);
    // Scopes are strictly nested within one task, so this one is the innermost.
    owner_->deadlines = outer;
}

void timeout_scope::reschedule(event_loop::duration delay) {
    event_loop* loop = owner_->loop();
    if (armed()) loop->disarm(this);
    deadline_link::expired = false;
    loop->arm(this, loop->time() + delay);
}

void timeout_scope::fire() {
    deadline_link::expired = true;
    owner_->deadline_expired();
}

}  // namespace weft
