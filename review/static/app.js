// Call page: click an utterance to play from there; click an item's evidence to light up its
// turns; the turn being heard is marked while the audio plays.
(function () {
  const player = document.getElementById("player");
  const turns = Array.from(document.querySelectorAll(".turn[data-start]"));

  function playFrom(turn) {
    const start = parseFloat(turn.dataset.start);
    if (!player || Number.isNaN(start)) return;
    player.currentTime = start;
    const playing = player.play();
    if (playing && playing.catch) playing.catch(function () {});  // autoplay may be refused
  }

  turns.forEach(function (turn) {
    turn.addEventListener("click", function () { playFrom(turn); });
    turn.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); playFrom(turn); }
    });
  });

  // Speech the ASR wrote no words for: listen to it.
  document.querySelectorAll("button.seek[data-start]").forEach(function (button) {
    button.addEventListener("click", function () { playFrom(button); });
  });

  document.querySelectorAll("button.evidence").forEach(function (button) {
    button.addEventListener("click", function () {
      const wanted = button.dataset.turns.split(",");
      document.querySelectorAll(".turn.highlight").forEach(function (t) {
        t.classList.remove("highlight");
      });
      let first = null;
      wanted.forEach(function (idx) {
        const turn = document.getElementById("turn-" + idx);
        if (turn) { turn.classList.add("highlight"); first = first || turn; }
      });
      if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
    });
  });

  if (player) {
    player.addEventListener("timeupdate", function () {
      const now = player.currentTime;
      let current = null;
      turns.forEach(function (turn) {
        if (parseFloat(turn.dataset.start) <= now) current = turn;
        turn.classList.remove("playing");
      });
      if (current) current.classList.add("playing");
    });
  }
})();
