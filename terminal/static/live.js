// New confirmations arrive as server-sent events carrying the rendered entry; each is put at
// the top of the list. The browser reconnects by itself if the terminal restarts.
(function () {
  var list = document.getElementById("entries");
  if (!list || !window.EventSource) return;
  var state = document.getElementById("live-state");
  var source = new EventSource("/events");
  source.addEventListener("open", function () { if (state) state.textContent = "自動更新中"; });
  source.addEventListener("error", function () { if (state) state.textContent = "再接続中…"; });
  source.addEventListener("confirmation", function (event) {
    if (document.getElementById("entry-" + event.lastEventId)) return;
    var holder = document.createElement("div");
    holder.innerHTML = event.data;
    var entry = holder.firstElementChild;
    if (!entry) return;
    entry.classList.add("new");
    list.insertBefore(entry, list.firstChild);
    var empty = document.getElementById("empty");
    if (empty) empty.remove();
  });
})();
