//! Every text the bot shows its users (Chinese), in one place.

pub const MENU: &str = "您好！这里是行政执法监督服务。请选择：";
pub const MENU_COMPLAINT: &str = "投诉举报";
pub const MENU_SUGGESTION: &str = "意见建议";
pub const MENU_PRAISE: &str = "表扬";
pub const MENU_STATUS: &str = "查询进度";
pub const MENU_SURVEY: &str = "满意度评价";
pub const MENU_BIND: &str = "绑定联系点";
pub const MENU_HELP: &str = "帮助";

pub const HELP: &str = "使用说明：\n\
• 投诉举报：反映行政执法中的问题（乱罚款、态度粗暴、未亮证执法等）\n\
• 意见建议 / 表扬：对执法工作提出建议或表扬\n\
• 查询进度（/status）：查看您提交的工单及办理过程\n\
• 满意度评价：凭邀请码或扫码填写满意度问卷\n\
• 绑定联系点（/bind 绑定码）：监督联系点联络员绑定身份\n\
任何时候发送 /cancel 可取消当前操作，发送 /start 返回菜单。";

pub const CANCELLED: &str = "已取消。发送 /start 返回菜单。";
pub const USE_BUTTONS: &str = "请点击上方按钮选择，或发送 /cancel 取消。";
pub const USE_BUTTONS_BELOW: &str = "这一步请点击下方按钮选择（或发送 /cancel 取消）：";
pub const ASK_KEEP_DRAFT: &str = "您有一份尚未提交的投诉/建议。继续填写，还是放弃并返回菜单？";
pub const RESUME_BUTTON: &str = "继续填写";
pub const DISCARD_BUTTON: &str = "放弃";
pub const DRAFT_KEPT: &str = "您尚未提交的内容已保留，可以继续填写：";
pub const LINK_UNKNOWN: &str =
    "这个链接无效或已过期。如需评价，请重新打开邀请链接；也可以从下面的菜单选择。";
pub const STALE_BUTTON: &str = "这个按钮已失效（它属于之前的题目或问卷），请回答下面这道题。";
pub const STALE_SURVEY_BUTTON: &str = "这个问卷按钮已失效。如需评价，请重新打开邀请链接。";
pub const UNKNOWN_INPUT: &str = "没有理解您的意思。请从菜单中选择，或发送 /help 查看说明。";
pub const PRIVATE_ONLY: &str = "为保护您的隐私，请私聊本机器人使用，不在群组中受理。";
pub const FLOOD: &str = "操作过于频繁，请稍后再试。";
pub const DAILY_CAP: &str =
    "您今天提交的工单已达上限，请明天再提交。如情况紧急，请拨打 12345 热线。";
pub const SERVICE_DOWN: &str = "服务暂时不可用，请稍后再试。您填写的内容已保存，可稍后继续。";
pub const CANCEL_BUTTON: &str = "取消";
pub const BACK_BUTTON: &str = "上一题";
pub const SKIP_BUTTON: &str = "跳过";
pub const DONE_BUTTON: &str = "完成";

// Filing a ticket.
pub const ASK_COMPLAINT_KIND: &str = "请选择类型：";
pub const KIND_COMPLAINT: &str = "投诉";
pub const KIND_REPORT: &str = "举报";
pub const ASK_AGENCY: &str = "请输入涉及的执法机关名称或关键字（如“市场监管”），或点击「不清楚」。";
pub const AGENCY_UNKNOWN: &str = "不清楚";
pub const AGENCY_NONE_FOUND: &str = "没有找到相关执法机关，请换个关键字，或点击「不清楚」。";
pub const AGENCY_PICK: &str = "请选择执法机关：";
pub const ASK_CATEGORY: &str = "请选择问题类别：";
pub const ASK_DESCRIPTION: &str = "请描述具体情况（时间、地点、经过），10 至 4000 字。";
pub const ASK_SUGGESTION: &str = "请写下您的意见建议，10 至 4000 字。";
pub const ASK_PRAISE: &str = "请写下您要表扬的执法机关或执法人员及其事迹，10 至 4000 字。";
pub const CONTACT_RECEIVED: &str = "已收到您的手机号（加密保存，仅承办司法局可见）。";

/// The description prompt of a kind: what happened for complaints and reports.
pub fn ask_description(kind: &str) -> &'static str {
    match kind {
        "suggestion" => ASK_SUGGESTION,
        "praise" => ASK_PRAISE,
        _ => ASK_DESCRIPTION,
    }
}
pub const ASK_PHOTOS: &str =
    "如有照片可以发送（可多张），发送完毕请点击「完成」；没有请点击「跳过」。";
pub const ASK_LOCATION: &str = "请发送位置（📎 → 位置），或直接输入地址；不需要请点击「跳过」。";
pub const ASK_IDENTITY: &str = "请选择提交方式：匿名提交不留联系方式；实名提交便于回访（联系方式加密保存，仅承办司法局可见）。如您是监督联系点联络员，匿名提交的工单也会标注您所在的联系点。";
pub const ANONYMOUS: &str = "匿名提交";
pub const REAL_NAME: &str = "实名提交";
pub const ASK_CONTACT: &str = "请点击下方「发送手机号」按钮，提供您本人的手机号。";
pub const SEND_CONTACT: &str = "发送手机号";
pub const CONTACT_NOT_OWN: &str = "请发送您本人的手机号（点击「发送手机号」按钮）。";
pub const CONFIRM: &str = "确认提交";
pub const EDIT: &str = "修改";
pub const ASK_EDIT: &str = "请选择要修改的内容：";
pub const FIELD_AGENCY: &str = "执法机关";
pub const FIELD_CATEGORY: &str = "问题类别";
pub const FIELD_DESCRIPTION: &str = "情况描述";
pub const FIELD_PHOTOS: &str = "照片";
pub const FIELD_LOCATION: &str = "位置";
pub const FIELD_IDENTITY: &str = "提交方式";

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "complaint" => "投诉",
        "report" => "举报",
        "suggestion" => "意见建议",
        "praise" => "表扬",
        _ => "反馈",
    }
}

pub fn description_length(chars: usize) -> String {
    format!("情况描述需 10 至 4000 字，您输入了 {chars} 字，请重新输入。")
}

pub fn photo_received(n: usize) -> String {
    format!("已收到第 {n} 张照片。可继续发送，或点击「完成」。")
}

pub const ADDRESS_TOO_LONG: &str = "地址不超过 200 字，请重新输入。";

/// The summary shown before submitting.
pub fn summary(
    kind: &str,
    agency: Option<&str>,
    category: &str,
    description: &str,
    photos: usize,
    place: Option<&str>,
    reporter: Option<&str>,
) -> String {
    // Telegram takes at most 4,096 characters a message: a long description is shown
    // shortened (it is filed whole).
    const SHOWN: usize = 1500;
    let chars = description.chars().count();
    let description = if chars > SHOWN {
        let head: String = description.chars().take(SHOWN).collect();
        format!("{head}……（共 {chars} 字，提交时完整保存）")
    } else {
        description.to_owned()
    };
    format!(
        "请核对以下内容：\n类型：{}\n执法机关：{}\n问题类别：{}\n情况描述：{}\n照片：{} 张\n位置：{}\n提交方式：{}",
        kind_label(kind),
        agency.unwrap_or("不清楚"),
        category,
        description,
        photos,
        place.unwrap_or("未提供"),
        reporter.map_or_else(|| "匿名".to_owned(), |r| format!("实名（{r}）")),
    )
}

pub fn filed(number: &str, secret: &str) -> String {
    format!(
        "已受理！工单号：{number}\n查询密码：{secret}\n请妥善保存。办理进展会在这里通知您，也可以发送 /status 查询。"
    )
}

pub fn refused(reason: &str) -> String {
    format!("提交未成功：{reason}")
}

// Status.
pub const NO_TICKETS: &str = "您还没有提交过工单。发送 /start 可以提交。";
pub const YOUR_TICKETS: &str = "您的工单（点击查看办理过程）：";
pub const TICKET_NOT_FOUND: &str = "没有找到该工单。";

pub fn ticket_line(number: &str, kind: &str, category: &str, state_label: &str) -> String {
    format!("{number} {}·{category}：{state_label}", kind_label(kind))
}

pub fn timeline_step(at: &str, step: &str, note: Option<&str>) -> String {
    match note {
        Some(n) => format!("{at} {step}：{n}"),
        None => format!("{at} {step}"),
    }
}

// Ratings.
pub const RATINGS: [&str; 3] = ["满意", "基本满意", "不满意"];
pub const ASK_RATING: &str = "请对办理情况作出评价：";
pub const RATED: &str = "感谢您的评价！";
pub const RATED_REOPENED: &str = "已收到您的评价。工单将重新办理，并由上级司法局督办。";
pub const RATING_CLOSED: &str = "该工单目前不能评价（可能已评价或已办结）。";

// Surveys.
pub const ASK_TOKEN: &str = "请发送邀请码（邀请短信、二维码链接中的编号）。";
pub const START_SURVEY: &str = "开始评价";
pub const TOKEN_UNKNOWN: &str = "邀请码无效，请核对后重新发送，或发送 /cancel 取消。";
pub const TOKEN_USED: &str = "该问卷已经填写过了，感谢您的参与！";
pub const TOKEN_EXPIRED: &str = "该邀请已过期，感谢您的关注。";
pub const SURVEY_CLOSED: &str = "该调查目前未开放，感谢您的关注。";
pub const SURVEY_THANKS: &str = "提交成功，感谢您的评价！您的回答将匿名用于改进执法工作。";
pub const YES: &str = "是";
pub const NO: &str = "否";
pub const LIKERT: [(&str, i64); 5] = [
    ("非常满意", 5),
    ("满意", 4),
    ("基本满意", 3),
    ("不满意", 2),
    ("非常不满意", 1),
];
pub const TEXT_ANSWER: &str = "请输入您的回答。";
pub const CHOOSE_ONE: &str = "请至少选择一项，然后点击「完成」。";

pub fn survey_intro(campaign: &str, agency: &str, questions: usize) -> String {
    format!("{campaign}\n被评价单位：{agency}\n共 {questions} 题以内，请逐题作答。")
}

pub fn question_header(n: usize, text: &str) -> String {
    format!("第 {n} 题：{text}")
}

pub fn text_too_long(max: u32) -> String {
    format!("回答不超过 {max} 字，请重新输入。")
}

pub fn survey_refused(reason: &str) -> String {
    format!("提交未成功：{reason}。请发送 /cancel 后重新开始。")
}

// Contact points.
pub const ASK_CODE: &str = "请发送司法局提供的绑定码。";
pub const CODE_UNKNOWN: &str = "绑定码无效，请核对后重新发送，或发送 /cancel 取消。";
pub const CODE_USED: &str = "该绑定码已被使用。请联系司法局重新获取。";
pub const CODE_EXPIRED: &str = "该绑定码已过期。请联系司法局重新获取。";

pub fn bound(name: &str) -> String {
    format!("绑定成功！您已成为监督联系点「{name}」的联络员，今后提交的反馈将标注该联系点。")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complaints_and_reports_are_asked_what_happened() {
        for kind in ["complaint", "report"] {
            assert!(ask_description(kind).contains("时间、地点、经过"));
        }
        for kind in ["suggestion", "praise"] {
            assert!(!ask_description(kind).contains("经过"), "{kind}");
        }
    }

    #[test]
    fn the_longest_summary_fits_one_message() {
        let long = summary(
            "complaint",
            Some(&"机".repeat(100)),
            "态度粗暴",
            &"执".repeat(4000),
            9,
            Some(&"址".repeat(200)),
            Some("138****1234"),
        );
        assert!(
            long.encode_utf16().count() <= 4096,
            "{}",
            long.encode_utf16().count()
        );
    }
}
