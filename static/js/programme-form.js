/* The programme form of the admin (advocacy.admin_forms.ProgrammeForm), as progressive
   enhancement: only the percentage or the fixed amount of each offer is shown, whichever its kind
   says (the server ignores the other one anyway), only the day of the payout schedule's kind
   (weekday for weekly, day of the month for monthly; nothing, nor the backend, when it is off),
   and the currency written after each money field follows the currency chosen. */
(function () {
  "use strict";

  var OFFERS = [
    ["shopper_reward_kind", "shopper_reward_percent", "shopper_reward_amount"],
    ["advocate_reward_kind", "advocate_reward_percent", "advocate_reward_amount"],
  ];

  // The field's whole panel child: its label sits outside the field's own wrapper, so hiding
  // only ".w-field__wrapper" would leave the label behind.
  function wrapper(id) {
    var field = document.getElementById(id);
    if (!field) return null;
    return field.closest(".w-panel__wrapper") || field.closest(".w-field__wrapper");
  }

  function showKind(kindSelect, percentId, amountId) {
    var fixed = kindSelect.value === "fixed";
    var percent = wrapper(percentId);
    var amount = wrapper(amountId);
    if (percent) percent.hidden = fixed;
    if (amount) amount.hidden = !fixed;
  }

  function showSchedule(scheduleSelect) {
    var schedule = scheduleSelect.value;
    var weekday = wrapper("id_payout_schedule_weekday");
    var day = wrapper("id_payout_schedule_day");
    var backend = wrapper("id_payout_schedule_backend");
    if (weekday) weekday.hidden = schedule !== "weekly";
    if (day) day.hidden = schedule !== "monthly";
    if (backend) backend.hidden = schedule === "off";
  }

  function init() {
    OFFERS.forEach(function (offer) {
      var kind = document.getElementById("id_" + offer[0]);
      if (!kind) return;
      var update = function () {
        showKind(kind, "id_" + offer[1], "id_" + offer[2]);
      };
      kind.addEventListener("change", update);
      update();
    });
    var schedule = document.getElementById("id_payout_schedule");
    if (schedule) {
      schedule.addEventListener("change", function () {
        showSchedule(schedule);
      });
      showSchedule(schedule);
    }
    var currency = document.getElementById("id_currency");
    if (currency) {
      currency.addEventListener("change", function () {
        document.querySelectorAll("[data-money-currency]").forEach(function (label) {
          label.textContent = currency.value;
        });
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
