/* The booking page's week calendar: pick a free slot to fill the start and end fields (typing still works).
 * A first click sets the start (and an end of at least the minimum booking); a click on a later free slot of
 * the same day, with only free slots between, extends the end. Slots are <button>s: keyboard-accessible.
 */
(function () {
  "use strict";
  var cal = document.getElementById("week-calendar");
  if (!cal) return;
  var form = document.getElementById("booking-form");
  var startInput = form && form.querySelector("input[name=start_at]");
  var endInput = form && form.querySelector("input[name=end_at]");
  if (!startInput || !endInput) return;
  var minHours = parseFloat(cal.getAttribute("data-min-hours")) || 0;
  var first = null;

  function slotsOf(day) {
    return Array.prototype.slice.call(cal.querySelectorAll(".slot[data-day='" + day + "']"));
  }
  function mark(from, to) {
    Array.prototype.forEach.call(cal.querySelectorAll(".slot"), function (b) { b.setAttribute("aria-pressed", "false"); });
    var day = slotsOf(from.getAttribute("data-day"));
    var on = false;
    day.forEach(function (b) {
      if (b === from) on = true;
      if (on) b.setAttribute("aria-pressed", "true");
      if (b === to) on = false;
    });
  }
  function select(from, to) {
    startInput.value = from.getAttribute("data-start");
    endInput.value = to.getAttribute("data-end");
    mark(from, to);
    // as if typed: the subsidy estimate (market.js) listens for changes and recomputes on the new period
    [startInput, endInput].forEach(function (input) { input.dispatchEvent(new Event("change", { bubbles: true })); });
  }
  cal.addEventListener("click", function (event) {
    var button = event.target.closest(".slot");
    if (!button || button.disabled) return;
    var day = slotsOf(button.getAttribute("data-day"));
    if (first && first.getAttribute("data-day") === button.getAttribute("data-day") && day.indexOf(button) > day.indexOf(first)) {
      var between = day.slice(day.indexOf(first), day.indexOf(button) + 1);
      if (between.every(function (b) { return !b.disabled; })) {
        select(first, button);
        first = null;
        return;
      }
    }
    first = button;
    // extend to the minimum booking length over free slots of the same day where possible
    var to = button, i = day.indexOf(button);
    var minutes = function (b) { return (Date.parse(b.getAttribute("data-end")) - Date.parse(button.getAttribute("data-start"))) / 60000; };
    while (minutes(to) < minHours * 60 && i + 1 < day.length && !day[i + 1].disabled &&
           day[i + 1].getAttribute("data-start") === to.getAttribute("data-end")) {
      i += 1;
      to = day[i];
    }
    select(button, to);
  });
})();
